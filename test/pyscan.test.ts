// Tests of src/analysis/scanner/, the import scan in Node: its records must equal
// src/python/imports.py's find_imports (run by the real python3) on tricky
// snippets and on every .py file of real stdlibs (the machine's, tests included,
// and CPython 3.11.2's source tree when test/support/fetch-cpython.sh fetched it).
// Cost: ~0.3 s for the snippets; ~10 s for the stdlibs (python3 parses ~1,800 files of each, both
// at once; the comparison itself is ~1 s).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImportRecord } from '../src/analysis/graph.js';
import { findImports, whyUnsupported } from '../src/analysis/scanner/index.js';
import { havePython, skip } from './helpers.js';
import { cpythonSrcdir, repoRoot } from './support/reference.js';

const DRIVER = join(repoRoot, 'test/support/find-imports.py');

function pythonRecords(sources: string[]): ImportRecord[][] {
  const run = spawnSync('python3', [DRIVER, '--snippets'], { input: JSON.stringify(sources), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.is(run.status, 0, `find-imports.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** Sources that exercise the tokenizer, the statement structure and the platform/flag rules. */
const SNIPPETS: Record<string, string> = {
  'plain imports, aliases, dotted names': 'import os, sys as system\nimport urllib.request as ur, xml.dom\nfrom a.b import (c,\n  d as e,\n)\nfrom . import x\nfrom .. import y\nfrom ...pkg.mod import *\nfrom .... import z\n',
  'semicolons and one-line compound statements': 'import a; import b\nif x: import c; import d\nelse: import e\ntry: import f\nexcept ImportError: import g\nwhile 0: import h\nwith m: import i\nfor q in r: import j\n',
  'platform tests, elif chains and decided values': "import sys, os\nif sys.platform == 'win32':\n    import winreg\nelif sys.platform.startswith(('linux', 'emsc')):\n    import fcntl\nelif os.name != 'posix':\n    import nt\nelse:\n    import posix\nif not (sys.platform in ('emscripten', 'wasi') or os.name == 'nt'):\n    import other\nif sys.version_info >= (3, 12):\n    import new\nif hasattr(os, 'fork') and x:\n    import forky\nif sys.platform[:4] == 'java':\n    import java\n",
  'flags from guarded imports and platform tests': "import sys\ntry:\n    import msvcrt\nexcept ModuleNotFoundError:\n    _mswindows = False\nelse:\n    _mswindows = True\n_can_fork_exec = sys.platform not in {'emscripten', 'wasi'}\nif _mswindows:\n    import _winapi\nelse:\n    if _can_fork_exec:\n        from _posixsubprocess import fork_exec\n(a, [b, *c]), d[e] = 1, 2\nif a or c or e:\n    import tup\nf: int = 0\nif f:\n    import never\nf = g = None\nif g:\n    import chained\n",
  'skip-body tests: __main__, TYPE_CHECKING, falsy names and constants': "_false = 0\nif _false:\n    import a\nif '__main__' == __name__:\n    import b\nif typing.TYPE_CHECKING:\n    import c\nelse:\n    import d\nif 0.0:\n    import e\nif '':\n    import f\nif b'':\n    import g\nif None:\n    import h\nif ...:\n    import i\nif 0x0:\n    import j\nif 0j:\n    import k\nif 1_0:\n    import l\n_b = b''\nif _b:\n    import m\n_s = ''\n_s2 = 'x'\nif _s:\n    import n\nif _s2:\n    import o\n",
  'try variants: except*, tuples, attributes, bare, finally': 'try:\n    import a\nexcept* ImportError:\n    import b\ntry:\n    import c\nexcept (OSError, builtins.ImportError) as exc:\n    pass\nelse:\n    import d\nfinally:\n    import e\ntry:\n    import f\nexcept:\n    pass\ntry:\n    import g\nexcept ValueError:\n    import h\n',
  'functions, methods, classes, decorators, async': '@dec(lambda: 1)\ndef f(a: int = 1, *args, b=lambda x: x, **kw) -> int:\n    import json\n    if x:\n        import re\n    else: import glob\n    class C:\n        import enum\n    try: import q\n    except: import w\n    match v:\n        case 1: import m1\n        case {"k": [1, 2]} if y: import m2\n    return 1\nclass D(Base, metaclass=M):\n    import email\n    def m(self):\n        from . import rel\n    async def n(self):\n        import asyncio\n    x = importlib.import_module("dyn.in.class")\nasync def g():\n    async with a as b:\n        import aw\n    async for i in j:\n        import af\n',
  'match statements at module level and soft keywords as names': 'match = case = 0\nmatch match:\n    case case:\n        import a\n    case [1, *rest] if rest:\n        import b\n    case _:\n        import c\nmatch(x)\nmatch ...:\n    case _: import d\ntype = 5\nprint(type)\n',
  'strings, f-strings, escapes, continuation lines': 'x = """import notreal\n  still a string"""\ny = f"{x!r:>{width}} {{literal}} {d[\'k\']}"\nz = rb\'\\\\\' + br"raw" + u"\\u00e9"\nif x == "import" \\\n   and y:\n    import after_continuation\nif sys.platform == "win\\x33\\x32":\n    import escaped_platform\ns = (\n  "a" "b"\n  f"c{1}"\n)\n',
  'dynamic imports': "import importlib\nm = importlib.import_module('json')\n__import__('re')\nrel = importlib.import_module('.x', 'pkg')\nn: object = __import__('xml.dom')\nimportlib.import_module(name)\nif x:\n    importlib.import_module('cond')\ndef f():\n    importlib.import_module('in_function_not_recorded')\n",
  'walrus, lambdas, comprehensions, conditional expressions in tests': "import os\nif (n := os.name) == 'nt':\n    import walrus\nif [x for x in os.environ if x]:\n    import comp\nif (lambda: os.name)():\n    import lam\nif os.name if a else b:\n    import ifexp\nif -sys.hexversion:\n    import unary\nif sys.flags.optimize + 1 > 2:\n    import binop\n",
  'assignments seen only as tokens: parenthesized names and constants, lambdas, chains, augmented': "(p) = 0\nif p:\n    import a\nq = 0\nq = lambda: 0\nif q:\n    import b\nr = (0)\nif r:\n    import c\ns: int = 0\nif s:\n    import d\nt = u = 0\nif t:\n    import e\nv = 0\nv += 1\nif v:\n    import f\nif (0):\n    import g\nw = (None, 0)\nif w:\n    import h\nx = 0 if a else 1\nif x:\n    import i\ny = -0\nif y:\n    import j\nk = lambda x=1: x; l = 0\nif l:\n    import k2\n",
  'unicode identifiers are NFKC-normalized': 'import ﬁle\nﬁ = 0\nif fi:\n    import normalized\n',
  'empty and comment-only sources': '# just a comment\n\n   \n',
  'sys.modules registrations: aliases of sys, chains, guards, non-constant keys, other names': "import sys as _sys, os\nimport collections.abc\n_sys.modules['collections.abc'] = _collections_abc\nx = sys.modules['not.sys.yet'] = 1\nimport sys\na = sys.modules['a.b'] = sys.modules[\"c\" 'd'] = m\nsys.modules[__name__ + '.x'] = y\nsys.modules[f'{n}'] = y\nos.modules['not.sys'] = 1\nsys.modules['ann']: object = 1\nsys.modules[''] = 1\nsys.modules['dyn'] = importlib.import_module('dyn')\nif sys.platform == 'win32':\n    sys.modules['win'] = 1\nelse:\n    sys.modules['posixy'] = 1\ntry:\n    import _c\nexcept ImportError:\n    sys.modules['fallback'] = 1\nclass K:\n    sys.modules['in.class'] = 1\ndef f():\n    import sys as s2\n    s2.modules['in.function'] = 1\nif x:\n    import sys as late\nlate.modules['late'] = 1\nsys.modules['t'], sys.modules['u'] = 1, 2\n",
  'function bodies: import in comments and strings, importlib, prefixed strings, continuations': 'def f(x):\n    if x:  # import not_a_statement\n        return rb"import" + Rb\'\\\'\' + f"{x:>{3}}"\n    for y in (\n        "import", # import\n    ): importlib.reload(y); reimport = 1\n    while x: \\\n        import cont\n    s = \'\'\'\n    import in_docstring\n    \'\'\'\n    import real  # after a string\n    return [import_ for import_ in x]\nimport top\n',
  'tabs, form feeds and CRLF line ends': 'if x:\r\n\timport a\r\n\tif y:\r\n\t\timport b\r\n\x0cimport c\r\n',
};

const snippets = suite('findImports equals find_imports (python3) on snippets');

snippets('every snippet gives the records python3 gives', () => {
  if (!havePython()) return skip('python3 is not available');
  const names = Object.keys(SNIPPETS);
  const want = pythonRecords(names.map((n) => SNIPPETS[n]));
  names.forEach((name, i) => {
    const got = findImports(SNIPPETS[name]);
    assert.ok(got, `${name}: declined (${whyUnsupported(SNIPPETS[name])})`);
    assert.equal(got, want[i], name);
  });
});

snippets('declines what it does not decode rather than guess', () => {
  // A non-UTF-8 coding cookie with non-ASCII bytes, invalid UTF-8, and a named escape a platform test reads.
  assert.is(findImports(Buffer.from('# -*- coding: cp1252 -*-\nx = "\xe9"\nimport a\n', 'latin1')), undefined);
  assert.is(findImports(Buffer.from([0x69, 0x6d, 0x70, 0xff, 0x0a])), undefined);
  assert.is(findImports('import sys\nif sys.platform == "\\N{LATIN SMALL LETTER W}in32":\n    import w\n'), undefined);
  assert.is(whyUnsupported(Buffer.from([0xff])), 'not UTF-8');
  // ...but an ASCII-only latin-1 source and a UTF-8 BOM are fine.
  assert.equal(findImports(Buffer.from('# coding: latin-1\nimport a\n')), [{ name: 'a', level: 0, names: [], conditional: false, line: 2 }]);
  assert.equal(findImports(Buffer.from('\ufeffimport b\n')), [{ name: 'b', level: 0, names: [], conditional: false, line: 1 }]);
});

snippets.run();

const stdlibs = suite('findImports equals find_imports on whole stdlibs');

/** python3's records for every file of `lib` (~8 s each: both trees are scanned at once, one per core). */
function pythonScan(lib: string): Promise<{ modules: { path: string; imports: ImportRecord[] }[] }> {
  return new Promise((resolve, reject) => {
    execFile('python3', [DRIVER, '--scan', lib], { encoding: 'utf8', maxBuffer: 1 << 30 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`find-imports.py --scan ${lib} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const machineLib = havePython() ? spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).stdout.trim() : '';
const haveCpython = existsSync(join(cpythonSrcdir, 'Lib/os.py'));
const scans = {
  machine: machineLib ? pythonScan(machineLib) : undefined,
  cpython: havePython() && haveCpython ? pythonScan(cpythonSrcdir) : undefined,
};
scans.machine?.catch(() => {});
scans.cpython?.catch(() => {});

async function compareTree(lib: string, scan: ReturnType<typeof pythonScan>): Promise<{ same: number; declined: string[] }> {
  const { modules } = await scan;
  let same = 0;
  const declined: string[] = [];
  for (const m of modules) {
    const source = readFileSync(join(lib, m.path));
    const got = findImports(source);
    if (got === undefined) {
      declined.push(`${m.path}: ${whyUnsupported(source)}`);
      continue;
    }
    assert.equal(got, m.imports, m.path);
    same++;
  }
  return { same, declined };
}

stdlibs("the machine's python3 stdlib, tests included: equal for every file, declined only when not UTF-8", async () => {
  if (!scans.machine) return skip('python3 is not available');
  const { same, declined } = await compareTree(machineLib, scans.machine);
  assert.ok(same > 1500, `only ${same} files compared`);
  for (const d of declined) assert.ok(d.endsWith(': not UTF-8'), d);
  assert.ok(declined.length < 10, declined.join('\n'));
});

stdlibs("CPython 3.11.2's source tree (Lib, Tools, Doc...): equal for every file, declined only when not UTF-8", async () => {
  if (!scans.cpython) return skip('no CPython 3.11.2 tree (run test/support/fetch-cpython.sh) or no python3');
  const { same, declined } = await compareTree(cpythonSrcdir, scans.cpython);
  assert.ok(same > 1900, `only ${same} files compared`);
  for (const d of declined) assert.ok(d.endsWith(': not UTF-8'), d);
});

stdlibs.run();
