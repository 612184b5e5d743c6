// Tests of the import graph: src/python/imports.py (find_imports, through the real
// python3) and src/imports.ts (resolveImport, checkClosure, pruneDependents,
// makeProvided), plus rules/builtins/3.11.json against the CPython source tree.
// Cost: ~0.2 s for the pure suites, ~0.3 s for the snippets (one python3 run),
// ~3 s for the real-stdlib suite (python3 parsing ~960 stdlib files, then Pyodide's ~510).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type BuiltinsData,
  checkClosure,
  type ImportRecord,
  makeMissingName,
  makeProvided,
  type ModuleNode,
  type OmittedReason,
  type ProvidedFn,
  pruneDependents,
  resolveImport,
  type Violation,
} from '../src/analysis/graph.js';
import { havePython, makeTmp, rmTmp, skip } from './helpers.js';
import { deriveBuiltins } from './support/derive-builtins.js';
import { loadBuiltins } from '../src/analysis/builtins.js';
import { moduleFacts } from '../src/pipeline/build-facts/index.js';
import { cpythonSrcdir, repoRoot } from './support/reference.js';

const DRIVER = join(repoRoot, 'test/support/find-imports.py');
const BUILTINS: BuiltinsData = JSON.parse(readFileSync(join(repoRoot, 'rules/builtins/3.11.json'), 'utf8'));

/** Compact record: [name, level, names, conditional, line]. */
type Row = [string, number, string[], boolean, number];
const row = (r: ImportRecord): Row => [r.name, r.level, r.names, r.conditional, r.line];

/** Runs find_imports over each source with the real python3 (one process). */
function findImports(sources: string[]): ImportRecord[][] {
  const run = spawnSync('python3', [DRIVER, '--snippets'], { input: JSON.stringify(sources), encoding: 'utf8' });
  assert.is(run.status, 0, `find-imports.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** An unconditional `import x` at line i+1 for each name; `from` imports as `from:pkg:a,b`. */
function rec(spec: string, line: number, conditional = false): ImportRecord {
  const m = /^from:(\.*)([^:]*):(.*)$/.exec(spec);
  if (m) return { name: m[2], level: m[1].length, names: m[3].split(','), conditional, line };
  return { name: spec, level: 0, names: [], conditional, line };
}

function mod(module: string, imports: (string | ImportRecord)[] = [], isPackage = false): ModuleNode {
  const parts = module.split('.');
  const path = isPackage ? `${parts.join('/')}/__init__.py` : `${parts.join('/')}.py`;
  return { module, path, isPackage, imports: imports.map((s, i) => (typeof s === 'string' ? rec(s, i + 1) : s)) };
}

/** The target of the examples: Pyodide-like states (termios n/a, _lzma missing). */
const provided = makeProvided({
  builtins: BUILTINS,
  modules: moduleFacts({
    states: { termios: 'n/a', _lzma: 'missing', _json: 'yes', pyexpat: 'yes', _socket: 'yes', select: 'yes' },
    disabled: ['_lzma'],
    statesSource: '_sysconfigdata__emscripten_wasm32-emscripten.py',
  }),
  statesSource: '_sysconfigdata__emscripten_wasm32-emscripten.py',
});

const NETWORK = { rule: 'emscripten-network', reason: 'synchronous network I/O does not work on Emscripten' };
const omit = (...names: string[]): Map<string, OmittedReason> => new Map(names.map((n) => [n, NETWORK]));

/** Violations as `module -> imports (line): chain / cause` lines, easy to compare. */
function brief(vs: Violation[]): string[] {
  return vs.map((v) => {
    const c = v.cause;
    const cause =
      c.kind === 'omitted' ? `omitted by ${c.rule}`
      : c.kind === 'unavailable-extension' ? `unavailable (${c.evidence})`
      : c.kind === 'missing-name' ? `missing name (${c.evidence})`
      : 'missing';
    return `${v.module} -> ${v.imports} (${v.line}): ${v.chain.join(' > ')} / ${cause}`;
  });
}

// ---
const find = suite('find_imports (python3 on snippets)');

const CASES: { name: string; source: string; expect: Row[] }[] = [
  {
    name: 'module-level imports are unconditional, one record per alias',
    source: 'import os, sys as system\nimport urllib.request\n',
    expect: [['os', 0, [], false, 1], ['sys', 0, [], false, 1], ['urllib.request', 0, [], false, 2]],
  },
  {
    name: 'from-imports keep their names; star is ["*"]; relative imports keep the level and an empty name',
    source: 'from urllib.request import urlopen, Request\nfrom _lzma import *\nfrom . import handler\nfrom ..sax.handler import ContentHandler\n',
    expect: [
      ['urllib.request', 0, ['urlopen', 'Request'], false, 1],
      ['_lzma', 0, ['*'], false, 2],
      ['', 1, ['handler'], false, 3],
      ['sax.handler', 2, ['ContentHandler'], false, 4],
    ],
  },
  {
    name: 'try/except ImportError makes the body, the handler and the else conditional; finally is not',
    source: 'try:\n    import _json\nexcept ImportError:\n    import _pyjson\nelse:\n    import extra\nfinally:\n    import always\n',
    expect: [['_json', 0, [], true, 2], ['_pyjson', 0, [], true, 4], ['extra', 0, [], true, 6], ['always', 0, [], false, 8]],
  },
  {
    name: 'handlers catching ModuleNotFoundError, Exception, a tuple or everything guard too',
    source:
      'try:\n    import a\nexcept ModuleNotFoundError:\n    pass\ntry:\n    import b\nexcept Exception:\n    pass\n' +
      'try:\n    import c\nexcept (OSError, ImportError):\n    pass\ntry:\n    import d\nexcept:\n    pass\n',
    expect: [['a', 0, [], true, 2], ['b', 0, [], true, 6], ['c', 0, [], true, 10], ['d', 0, [], true, 14]],
  },
  {
    name: 'a try whose handlers catch other errors leaves its body unconditional (the handler is conditional)',
    source: 'try:\n    import a\nexcept AttributeError:\n    import b\n',
    expect: [['a', 0, [], false, 2], ['b', 0, [], true, 4]],
  },
  {
    name: 'platform tests make both branches conditional',
    source:
      "import sys, os\nif sys.platform == 'win32':\n    import winreg\nelse:\n    import termios\n" +
      "if os.name == 'nt':\n    import nt\nif sys.platform.startswith('linux'):\n    import fcntl\n" +
      "if hasattr(os, 'fork'):\n    import _posixsubprocess\n",
    expect: [
      ['sys', 0, [], false, 1], ['os', 0, [], false, 1],
      ['winreg', 0, [], true, 3], ['termios', 0, [], true, 5], ['nt', 0, [], true, 7],
      ['fcntl', 0, [], true, 9], ['_posixsubprocess', 0, [], true, 11],
    ],
  },
  {
    name: 'flags set from a platform test or inside an import-guarding try are platform tests too (subprocess)',
    source:
      'import sys\ntry:\n    import msvcrt\nexcept ModuleNotFoundError:\n    _mswindows = False\nelse:\n    _mswindows = True\n' +
      "_can_fork_exec = sys.platform not in {'emscripten', 'wasi'}\n" +
      'if _mswindows:\n    import _winapi\nelse:\n    if _can_fork_exec:\n        from _posixsubprocess import fork_exec\n',
    expect: [
      ['sys', 0, [], false, 1], ['msvcrt', 0, [], true, 3], ['_winapi', 0, [], true, 10],
      ['_posixsubprocess', 0, ['fork_exec'], true, 13],
    ],
  },
  {
    name: "a plain if, with and for leave imports unconditional; __main__ and TYPE_CHECKING bodies are conditional, their else is not",
    source:
      "if DEBUG:\n    import pdb\nwith lock:\n    import a\nfor x in y:\n    import b\n" +
      "if __name__ == '__main__':\n    import argparse\nif TYPE_CHECKING:\n    import typing_extras\nelse:\n    import runtime\n",
    expect: [
      ['pdb', 0, [], false, 2], ['a', 0, [], false, 4], ['b', 0, [], false, 6],
      ['argparse', 0, [], true, 8], ['typing_extras', 0, [], true, 10], ['runtime', 0, [], false, 12],
    ],
  },
  {
    name: 'an if that is never true (if 0, a name bound to a falsy constant) has a conditional body',
    source: '_false = 0\nif _false:\n    import xml.sax.expatreader\nif 0:\n    import a\nelse:\n    import b\n_x = 0\n_x = compute()\nif _x:\n    import c\n',
    expect: [['xml.sax.expatreader', 0, [], true, 3], ['a', 0, [], true, 5], ['b', 0, [], false, 7], ['c', 0, [], false, 11]],
  },
  {
    name: 'function and method bodies are conditional; class bodies run on import',
    source:
      'def f():\n    import json\n    def g():\n        import re\nclass C:\n    import enum\n    def m(self):\n        import email\n' +
      'async def h():\n    import asyncio\n',
    expect: [
      ['json', 0, [], true, 2], ['re', 0, [], true, 4], ['enum', 0, [], false, 6],
      ['email', 0, [], true, 8], ['asyncio', 0, [], true, 10],
    ],
  },
  {
    name: 'literal import_module() and __import__() statements are recorded as dynamic',
    source: "import importlib\nmod = importlib.import_module('json')\n__import__('re')\nrel = importlib.import_module('.x', 'pkg')\n",
    expect: [['importlib', 0, [], false, 1], ['json', 0, [], false, 2], ['re', 0, [], false, 3]],
  },
];

find('platform tests decided on every WebAssembly target mark their imports onWasm', () => {
  if (!havePython()) return skip('python3 is not available');
  const source =
    "import os, sys\nif os.name == 'posix':\n    import _posixshmem\nif sys.platform == 'win32':\n    import _winapi\nelse:\n    import unix\n" +
    "if sys.platform == 'emscripten':\n    import emscripten_only\nif sys.platform.startswith('win') or os.name == 'nt':\n    import nt\nelse:\n    import posix\n" +
    "_can_fork = sys.platform not in {'emscripten', 'wasi'}\nif not _can_fork:\n    import nofork\n" +
    "if os.name == 'posix':\n    try:\n        import guarded\n    except ImportError:\n        pass\n";
  const [records] = findImports([source]);
  assert.equal(records.filter((r) => r.conditional).map((r) => `${r.name}${r.onWasm ? ' onWasm' : ''}`), [
    '_posixshmem onWasm', '_winapi', 'unix onWasm', 'emscripten_only', 'nt', 'posix onWasm', 'nofork onWasm', 'guarded',
  ]);
  assert.ok(records.filter((r) => !r.conditional).every((r) => r.onWasm === undefined));
});

find('each snippet gives the expected records', () => {
  if (!havePython()) return skip('python3 is not available');
  const results = findImports(CASES.map((c) => c.source));
  CASES.forEach((c, i) => assert.equal(results[i].map(row), c.expect, c.name));
  assert.is(results[CASES.length - 1][1].dynamic, true);
});

find.run();

// ---
const resolve = suite('resolveImport');

const isModule = (name: string) => ['json.scanner', 'xml.sax.handler', 'xml.sax.saxutils', 'email.message'].includes(name);

const RESOLVE: { importer: string; isPackage: boolean; rec: ImportRecord; expect: string[] }[] = [
  { importer: 'logging.config', isPackage: false, rec: rec('socketserver', 1), expect: ['socketserver'] },
  { importer: 'x', isPackage: false, rec: rec('urllib.request', 1), expect: ['urllib.request'] },
  { importer: 'json.decoder', isPackage: false, rec: rec('from:.scanner:make_scanner', 1), expect: ['json.scanner'] },
  { importer: 'json', isPackage: true, rec: rec('from:.decoder:JSONDecoder', 1), expect: ['json.decoder'] },
  { importer: 'xml.sax', isPackage: true, rec: rec('from:.:handler,make_parser', 1), expect: ['xml.sax', 'xml.sax.handler'] },
  { importer: 'xml.sax.expatreader', isPackage: false, rec: rec('from:.:saxutils', 1), expect: ['xml.sax', 'xml.sax.saxutils'] },
  { importer: 'xml.dom.minidom', isPackage: false, rec: rec('from:..sax:handler', 1), expect: ['xml.sax', 'xml.sax.handler'] },
  { importer: 'email.mime.text', isPackage: false, rec: rec('from:email:message', 1), expect: ['email', 'email.message'] },
  { importer: 'x', isPackage: false, rec: rec('from:os:path', 1), expect: ['os'] },
  { importer: 'x', isPackage: false, rec: rec('from:_lzma:*', 1), expect: ['_lzma'] },
  { importer: 'top', isPackage: false, rec: rec('from:.:x', 1), expect: [] },
  { importer: 'pkg.mod', isPackage: false, rec: rec('from:...:x', 1), expect: [] },
];

resolve('resolves absolute, relative and from-imports to the modules they need', () => {
  for (const c of RESOLVE) {
    assert.equal(resolveImport(c.importer, c.isPackage, c.rec, isModule), c.expect, `${c.importer}: ${JSON.stringify(c.rec)}`);
  }
});

resolve('without isModule, from-names are taken to be attributes', () => {
  assert.equal(resolveImport('email.mime.text', false, rec('from:email:message', 1)), ['email']);
});

resolve.run();

// ---
const check = suite('checkClosure');

check("reports the reference's known weaknesses with their causes", () => {
  const kept = [
    mod('xml', [], true), mod('xml.sax', [], true), mod('xml.sax.saxutils', ['os', 'urllib.parse', 'urllib.request', 'from:.:handler']),
    mod('xml.sax.handler'), mod('os'), mod('urllib', [], true), mod('urllib.parse'),
    mod('logging', [], true), mod('logging.config', ['logging', 'from:socketserver:ThreadingTCPServer']),
    mod('importlib', [], true), mod('importlib.metadata', ['email', 'from:.:_meta'], true), mod('importlib.metadata._meta'),
    mod('tty', ['from:termios:*']), mod('lzma', ['io', 'from:_lzma:*', 'from:_lzma:_encode_filter_properties']), mod('io'),
  ];
  const omitted = omit('urllib.request', 'socketserver', 'email', 'email.message');
  assert.equal(brief(checkClosure({ kept, omitted, provided })), [
    'importlib.metadata -> email (1): importlib.metadata > email / omitted by emscripten-network',
    'logging.config -> socketserver (2): logging.config > socketserver / omitted by emscripten-network',
    "lzma -> _lzma (2): lzma > _lzma / unavailable (_lzma is in MODDISABLED_NAMES)",
    "tty -> termios (1): tty > termios / unavailable (MODULE_TERMIOS_STATE = 'n/a' in _sysconfigdata__emscripten_wasm32-emscripten.py)",
    'xml.sax.saxutils -> urllib.request (3): xml.sax.saxutils > urllib.request / omitted by emscripten-network',
  ]);
});

check('the omitted cause carries the rule and its reason', () => {
  const [v] = checkClosure({ kept: [mod('logging.config', ['socketserver'])], omitted: omit('socketserver'), provided });
  assert.equal(v.cause, { kind: 'omitted', ...NETWORK });
  assert.is(v.path, 'logging/config.py');
});

/** `module` assigns `sys.modules[name]` itself. */
function registers(name: string, line: number, conditional = false): ImportRecord {
  return { ...rec(name, line, conditional), registers: true };
}

check('conditional imports, built-ins, aliases, registered names and available extensions are fine', () => {
  const kept = [mod('json', [rec('_json', 1, true), 'sys', 'os.path', 'posix', '_frozen_importlib', '__main__', 'from:_socket:socket'], true), mod('os', ['sys', registers('os.path', 2)])];
  assert.equal(checkClosure({ kept, omitted: new Map(), provided }), []);
});

check('a name set in sys.modules by its own package imports; a registration is no import', () => {
  const kept = [
    mod('collections', ['_collections_abc', 'sys', registers('collections.abc', 3)], true),
    mod('_collections_abc'),
    mod('typing', ['collections.abc', 'from:collections.abc:Mapping']),
    mod('xml', [], true), mod('xml.parsers', [], true),
    mod('xml.parsers.expat', ['sys', 'from:pyexpat:*', registers('xml.parsers.expat.model', 3), registers('xml.parsers.expat.errors', 4)]),
    mod('xml.dom', [], true), mod('xml.dom.expatbuilder', ['from:xml.parsers:expat', 'xml.parsers.expat.errors']),
  ];
  assert.equal(checkClosure({ kept, omitted: new Map(), provided }), []);
});

check('a registration counts only when it runs: by a package of the name, unconditionally, and kept', () => {
  const importer = mod('app', ['os.path']);
  // Another module than a package of the name: whether it ran first depends on import order.
  assert.equal(brief(checkClosure({ kept: [mod('os'), mod('site', ['sys', registers('os.path', 2)]), importer], omitted: new Map(), provided })), [
    'app -> os.path (1): app > os.path / missing',
  ]);
  // Under a test that is not decided on WebAssembly.
  assert.equal(brief(checkClosure({ kept: [mod('os', ['sys', registers('os.path', 2, true)]), importer], omitted: new Map(), provided })), [
    'app -> os.path (1): app > os.path / missing',
  ]);
  // The registering package is omitted: the failure is the package's.
  assert.equal(brief(checkClosure({ kept: [importer], omitted: omit('os'), provided })), [
    'app -> os.path (1): app > os / omitted by emscripten-network',
  ]);
});

check('windows-only and unknown modules are reported with their own causes', () => {
  const kept = [mod('asyncio', [], true), mod('asyncio.windows_events', ['_overlapped', 'no_such_module'])];
  assert.equal(brief(checkClosure({ kept, omitted: new Map(), provided })), [
    'asyncio.windows_events -> _overlapped (1): asyncio.windows_events > _overlapped / unavailable (_overlapped exists only in Windows builds of CPython)',
    'asyncio.windows_events -> no_such_module (2): asyncio.windows_events > no_such_module / missing',
  ]);
});

check('from pkg import name needs pkg.name only when it is a module of the bundle', () => {
  const kept = [mod('email', [], true), mod('a', ['from:email:message_from_string']), mod('b', ['from:email:message'])];
  assert.equal(brief(checkClosure({ kept, omitted: omit('email.message'), provided })), [
    'b -> email.message (1): b > email.message / omitted by emscripten-network',
  ]);
});

check('import a.b.c needs every package on the way; the first failing one is the cause', () => {
  const kept = [mod('x', ['email.mime.text'])];
  const [v] = checkClosure({ kept, omitted: omit('email', 'email.mime', 'email.mime.text'), provided });
  assert.is(v.imports, 'email.mime.text');
  assert.equal(v.chain, ['x', 'email']);
});

check('a kept submodule of an omitted package is reported at line 0; a namespace package is fine', () => {
  const kept = [mod('email.utils'), mod('ns.mod')];
  assert.equal(brief(checkClosure({ kept, omitted: omit('email'), provided })), ['email.utils -> email (0): email.utils > email / omitted by emscripten-network']);
});

check('__main__ modules are not checked; a module importing itself is fine', () => {
  const kept = [mod('pkg', ['from:.:x'], true), mod('pkg.__main__', ['no_such_module']), mod('__main__', ['nope'])];
  assert.equal(checkClosure({ kept, omitted: new Map(), provided }), []);
});

check('a target module that is available wins over an omission (e.g. a frozen module)', () => {
  const frozen = makeProvided({ builtins: BUILTINS, modules: new Map(), frozen: true });
  const kept = [mod('x', ['runpy'])];
  assert.equal(checkClosure({ kept, omitted: omit('runpy'), provided: frozen }), []);
  assert.is(checkClosure({ kept, omitted: omit('runpy'), provided }).length, 1);
});

check('with missingName, from-imports of Windows-only functions fail, also through a star re-export', () => {
  const missingName = makeMissingName(BUILTINS);
  const kept = [
    mod('codecs', [rec('from:_codecs:*', 1, true)]), mod('encodings', [], true),
    mod('encodings.mbcs', ['from:codecs:mbcs_encode,mbcs_decode', 'codecs']), mod('encodings.utf_8', ['from:codecs:utf_8_encode']),
    mod('direct', ['from:_codecs:oem_encode']), mod('locale', [rec('from:_locale:_getdefaultlocale', 1, true)]),
  ];
  assert.equal(brief(checkClosure({ kept, omitted: new Map(), provided, missingName })), [
    'direct -> _codecs.oem_encode (1): direct > _codecs.oem_encode / missing name (oem_encode exists only in Windows builds of _codecs)',
    'encodings.mbcs -> codecs.mbcs_encode (1): encodings.mbcs > codecs.mbcs_encode / missing name (mbcs_encode exists only in Windows builds of _codecs (codecs re-exports _codecs with import *))',
  ]);
  assert.equal(checkClosure({ kept, omitted: new Map(), provided }), [], 'names are not checked without missingName');
  const { pruned } = pruneDependents({ kept: [...kept, mod('user', ['encodings.mbcs'])], omitted: new Map(), provided, missingName });
  assert.equal(pruned.map((p) => p.violation.chain), [['direct', '_codecs.oem_encode'], ['encodings.mbcs', 'codecs.mbcs_encode'], ['user', 'encodings.mbcs', 'codecs.mbcs_encode']]);
});

check('with wasm: true, onWasm records count as unconditional', () => {
  const kept = [mod('multiprocessing', [], true), mod('multiprocessing.resource_tracker', [{ ...rec('_posixshmem', 37, true), onWasm: true }])];
  const states = makeProvided({ builtins: BUILTINS, modules: moduleFacts({ states: { _posixshmem: 'n/a' } }) });
  assert.equal(checkClosure({ kept, omitted: new Map(), provided: states }), []);
  assert.equal(brief(checkClosure({ kept, omitted: new Map(), provided: states, wasm: true })), [
    "multiprocessing.resource_tracker -> _posixshmem (37): multiprocessing.resource_tracker > _posixshmem / unavailable (MODULE__POSIXSHMEM_STATE = 'n/a')",
  ]);
});

check.run();

// ---
const prune = suite('pruneDependents');

prune('prunes to a fixpoint, each module with its shortest chain to the root cause', () => {
  const kept = [
    mod('xml', [], true), mod('xml.sax', ['from:.:handler'], true), mod('xml.sax.handler'),
    mod('xml.sax.saxutils', ['urllib.request']), mod('xml.sax.expatreader', ['from:.:saxutils', 'from:.:handler']),
    mod('xml.dom', [], true), mod('xml.dom.pulldom', ['xml.sax', 'xml.sax.handler']),
    mod('tty', ['from:termios:*']), mod('pty', ['os', 'tty']), mod('os'), mod('user', ['pty', 'xml.sax.expatreader']),
    mod('urllib', [], true),
  ];
  const result = pruneDependents({ kept, omitted: omit('urllib.request'), provided });
  assert.equal(result.pruned.map((p) => [p.module, p.violation.chain]), [
    ['tty', ['tty', 'termios']],
    ['xml.sax.saxutils', ['xml.sax.saxutils', 'urllib.request']],
    ['pty', ['pty', 'tty', 'termios']],
    ['xml.sax.expatreader', ['xml.sax.expatreader', 'xml.sax.saxutils', 'urllib.request']],
    ['user', ['user', 'pty', 'tty', 'termios']],
  ]);
  assert.equal(result.kept.map((n) => n.module), ['xml', 'xml.sax', 'xml.sax.handler', 'xml.dom', 'xml.dom.pulldom', 'os', 'urllib']);
  const expat = result.pruned[3].violation;
  assert.equal(expat.cause, { kind: 'omitted', ...NETWORK });
  assert.is(expat.imports, 'xml.sax.saxutils');
  assert.is(expat.line, 1);
});

prune('a pruned package __init__ makes its submodules and their importers fail, nothing else', () => {
  const kept = [
    mod('pkg', ['_lzma'], true), mod('pkg.sub'), mod('pkg.sub2', ['pkg.sub']), mod('pkg.__main__', ['pkg.sub']),
    mod('user', ['pkg.sub']), mod('bystander', ['os']), mod('os'),
  ];
  const result = pruneDependents({ kept, omitted: new Map(), provided });
  assert.equal(result.pruned.map((p) => [p.module, p.violation.imports, p.violation.line, p.violation.chain]), [
    ['pkg', '_lzma', 1, ['pkg', '_lzma']],
    ['pkg.sub', 'pkg', 0, ['pkg.sub', 'pkg', '_lzma']],
    ['pkg.sub2', 'pkg', 0, ['pkg.sub2', 'pkg', '_lzma']],
    ['user', 'pkg.sub', 1, ['user', 'pkg', '_lzma']],
  ]);
  assert.equal(result.kept.map((n) => n.module), ['pkg.__main__', 'bystander', 'os']);
  assert.is(result.pruned[0].violation.cause.kind, 'unavailable-extension');
});

prune('import cycles are pruned together, and nothing is pruned when the closure holds', () => {
  const kept = [mod('a', ['b', 'socketserver']), mod('b', ['a']), mod('c', ['os']), mod('os')];
  const result = pruneDependents({ kept, omitted: omit('socketserver'), provided });
  assert.equal(result.pruned.map((p) => p.violation.chain), [['a', 'socketserver'], ['b', 'a', 'socketserver']]);
  assert.equal(pruneDependents({ kept: [mod('c', ['os']), mod('os')], omitted: new Map(), provided }).pruned, []);
});

prune.run();

// ---
const facts = suite('makeProvided');

facts('applies MODDISABLED_NAMES, then MODULE_<NAME>_STATE, and knows built-ins, __main__ and unstated extensions', () => {
  const p: ProvidedFn = makeProvided({ builtins: BUILTINS, modules: moduleFacts({ states: { _lzma: 'yes', _json: 'yes', termios: 'n/a', time: 'yes' }, disabled: ['_lzma'] }) });
  assert.equal(p('_lzma'), { available: false, evidence: '_lzma is in MODDISABLED_NAMES' });
  assert.equal(p('_json'), { available: true, evidence: "MODULE__JSON_STATE = 'yes'" });
  assert.equal(p('termios'), { available: false, evidence: "MODULE_TERMIOS_STATE = 'n/a'" });
  assert.equal(p('_ctypes'), { available: false, evidence: 'no MODULE__CTYPES_STATE' });
  assert.equal(p('_ssl'), { available: false, evidence: 'no MODULE__SSL_STATE' });
  assert.equal(p('sys')?.available, true);
  assert.equal(p('time')?.evidence, 'built into CPython 3.11');
  assert.is(p('os.path'), undefined, 'os.path is registered by os (read from its source), not a built-in');
  assert.equal(p('__main__')?.available, true);
  assert.is(p('runpy'), undefined, 'frozen stdlib modules count only with frozen: true');
  assert.is(p('json'), undefined);
});

facts.run();

// ---
const builtins = suite('rules/builtins/3.11.json');

builtins('lists the core modules, the extension names and the Windows-only names', () => {
  for (const name of ['sys', 'builtins', 'marshal', '_imp', 'posix', '_io', '_thread', '_warnings', '_frozen_importlib', 'zipimport']) {
    assert.ok(BUILTINS.builtin.includes(name), name);
  }
  assert.not.ok(BUILTINS.builtin.includes('pwd'), 'pwd depends on configure (MODULE_PWD_STATE)');
  for (const name of ['_lzma', 'termios', '_json', 'pyexpat', '_ssl', 'pwd']) assert.ok(BUILTINS.stdlibExtensions.includes(name), name);
  assert.equal(BUILTINS.setupPyExtensions, ['_ctypes', '_curses', '_curses_panel', '_dbm', 'readline']);
  for (const name of ['nt', '_winapi', 'msvcrt', 'winreg', '_overlapped']) assert.ok(BUILTINS.windowsOnly.includes(name), name);
});

builtins('matches what the 3.11.2 source tree says', () => {
  if (!existsSync(join(cpythonSrcdir, 'Modules/Setup.bootstrap.in'))) {
    return skip(`no CPython source tree at ${cpythonSrcdir} (run test/support/fetch-cpython.sh)`);
  }
  assert.equal(deriveBuiltins(cpythonSrcdir), BUILTINS);
});

builtins.run();

// ---
const real = suite("the machine's python3.11 stdlib");

/** The reference's Emscripten omissions (REFERENCE.md §1) that the assertions below need. */
const REFERENCE_OMIT: [string, string][] = [
  ['email', 'emscripten-network'], ['http', 'emscripten-network'], ['socketserver', 'emscripten-network'],
  ['urllib.request', 'emscripten-network'], ['urllib.error', 'emscripten-network'], ['urllib.response', 'emscripten-network'],
  ['ctypes', 'ext-ctypes'], ['test', 'tests'], ['distutils', 'distutils'], ['lib2to3', 'lib2to3'], ['ensurepip', 'ensurepip'],
  ['tkinter', 'ext-tkinter'], ['idlelib', 'ext-tkinter'], ['curses', 'ext-curses'], ['sqlite3', 'ext-sqlite3'],
  ['multiprocessing', 'ext-multiprocessing'], ['concurrent.futures.process', 'ext-multiprocessing'],
  ['dbm.ndbm', 'ext-dbm'], ['dbm.gnu', 'ext-gdbm'], ['ssl', 'ext-ssl'], ['venv', 'venv'],
];

/** Pyodide 0.25.1's build facts: MODULE_*_STATE of its sysconfigdata and its disabled modules. */
function pyodideFacts(): { states: Record<string, string>; disabled: string[] } | undefined {
  const zip = join(repoRoot, 'node_modules/pyodide/python_stdlib.zip');
  if (!existsSync(zip)) return undefined;
  const name = '_sysconfigdata__emscripten_wasm32-emscripten.py';
  const text = new TextDecoder().decode(unzipSync(readFileSync(zip), { filter: (f) => f.name === name })[name]);
  const states = Object.fromEntries([...text.matchAll(/'MODULE_([A-Z0-9_]+)_STATE': '([^']*)'/g)].map((m) => [m[1].toLowerCase(), m[2]]));
  return { states, disabled: ['pwd', '_sqlite3', '_ssl', '_lzma', '_hashlib', '_uuid'] };
}

real('find_imports knows the facts of the real stdlib, and the closure check finds the reference weaknesses', () => {
  if (!havePython()) return skip('python3 is not available');
  const lib = spawnSync('python3', ['-c', "import sysconfig; print(sysconfig.get_paths()['stdlib'])"], { encoding: 'utf8' }).stdout.trim();
  const version = spawnSync('python3', ['-c', "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: 'utf8' }).stdout.trim();
  if (version !== '3.11') return skip(`python3 is ${version}, the facts below are 3.11's`);
  const run = spawnSync('python3', [DRIVER, '--scan', lib, '--skip-tests'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.is(run.status, 0, run.stderr);
  const scan: { modules: ModuleNode[]; files: number; seconds: { parse: number; find: number } } = JSON.parse(run.stdout);
  assert.ok(scan.files > 900, `${scan.files} files`);
  // find_imports is a small fraction of parsing (measured ~0.15 s here for ~960 files).
  assert.ok(scan.seconds.find < 2, `find_imports took ${scan.seconds.find} s`);
  const by = new Map(scan.modules.map((m) => [m.module, m]));
  const has = (module: string, name: string, conditional: boolean) =>
    assert.ok(by.get(module)!.imports.some((r) => r.name === name && r.conditional === conditional), `${module} ${conditional ? 'conditionally' : 'unconditionally'} imports ${name}`);
  has('xml.sax.saxutils', 'urllib.request', false);
  has('json.decoder', '_json', true);
  has('json.scanner', '_json', true);
  has('asyncio.windows_events', '_winapi', false);
  has('asyncio', 'windows_events', true);
  has('logging.config', 'socketserver', false);
  has('tty', 'termios', false);
  has('lzma', '_lzma', false);
  has('subprocess', '_winapi', true);
  has('subprocess', '_posixsubprocess', true);
  has('os', 'nt', true);
  has('shutil', 'lzma', true);

  const facts = pyodideFacts();
  if (!facts) return skip('node_modules/pyodide is not installed');
  const omitted = new Map<string, OmittedReason>();
  const kept: ModuleNode[] = [];
  for (const m of scan.modules) {
    const hit = REFERENCE_OMIT.find(([p]) => m.module === p || m.module.startsWith(`${p}.`));
    if (hit) omitted.set(m.module, { rule: hit[1], reason: 'reference' });
    else kept.push(m);
  }
  const closureProvided = makeProvided({ builtins: BUILTINS, modules: moduleFacts(facts) });
  const missingName = makeMissingName(BUILTINS);
  const violations = brief(checkClosure({ kept, omitted, provided: closureProvided, missingName }));
  for (const expected of [
    'xml.sax.saxutils -> urllib.request (6): xml.sax.saxutils > urllib.request / omitted by emscripten-network',
    'logging.config -> socketserver (38): logging.config > socketserver / omitted by emscripten-network',
    'importlib.metadata -> email (6): importlib.metadata > email / omitted by emscripten-network',
    "tty -> termios (5): tty > termios / unavailable (MODULE_TERMIOS_STATE = 'n/a')",
    'lzma -> _lzma (27): lzma > _lzma / unavailable (_lzma is in MODDISABLED_NAMES)',
    'asyncio.windows_events -> _overlapped (8): asyncio.windows_events > _overlapped / unavailable (_overlapped exists only in Windows builds of CPython)',
    'encodings.mbcs -> codecs.mbcs_encode (12): encodings.mbcs > codecs.mbcs_encode / missing name (mbcs_encode exists only in Windows builds of _codecs (codecs re-exports _codecs with import *))',
  ]) {
    assert.ok(violations.includes(expected), `missing: ${expected}\n${violations.join('\n')}`);
  }
  for (const fine of ['json', 'json.decoder', 'os', 'subprocess', 'asyncio', 'shutil', 'tarfile', 'zipfile', 'hashlib', 'uuid', 'pathlib', 'site']) {
    assert.not.ok(violations.some((v) => v.startsWith(`${fine} -> `)), `${fine} should import: ${violations.filter((v) => v.startsWith(fine)).join('; ')}`);
  }
  const { pruned } = pruneDependents({ kept, omitted, provided: closureProvided, missingName });
  const chains = new Map(pruned.map((p) => [p.module, p.violation.chain]));
  assert.equal(chains.get('pty'), ['pty', 'tty', 'termios']);
  assert.equal(chains.get('xml.sax.expatreader'), ['xml.sax.expatreader', 'xml.sax.saxutils', 'urllib.request']);
  assert.equal(chains.get('importlib.metadata._adapters'), ['importlib.metadata._adapters', 'email']);
});

real("on Pyodide's own stdlib, the check predicts the failures measured in Pyodide (test/pyodide.test.ts)", () => {
  if (!havePython()) return skip('python3 is not available');
  const facts = pyodideFacts();
  if (!facts) return skip('node_modules/pyodide is not installed');
  const tmp = makeTmp();
  try {
    const files = unzipSync(readFileSync(join(repoRoot, 'node_modules/pyodide/python_stdlib.zip')), { filter: (f) => f.name.endsWith('.py') });
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, name), bytes);
    }
    const run = spawnSync('python3', [DRIVER, '--scan', tmp], { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.is(run.status, 0, run.stderr);
    const kept: ModuleNode[] = JSON.parse(run.stdout).modules;
    const input = { kept, omitted: new Map(), provided: makeProvided({ builtins: BUILTINS, modules: moduleFacts(facts) }), missingName: makeMissingName(BUILTINS) };
    const predicted = new Set(pruneDependents({ ...input, wasm: true }).pruned.map((p) => p.module));
    const predictedNoWasm = new Set(pruneDependents(input).pruned.map((p) => p.module));
    // Measured in Pyodide 0.25.1 (test/pyodide.test.ts, PYODIDE_OWN_FAILURES).
    const measured = [
      'asyncio.windows_events', 'asyncio.windows_utils', 'concurrent.futures.process', 'encodings.mbcs', 'encodings.oem',
      'multiprocessing.forkserver', 'multiprocessing.popen_forkserver', 'multiprocessing.popen_spawn_win32', 'multiprocessing.queues',
      'multiprocessing.resource_tracker', 'multiprocessing.shared_memory', 'multiprocessing.synchronize', 'pty', 'tty',
    ];
    assert.equal(measured.filter((m) => !predicted.has(m)), []);
    // Without `wasm`, `if os.name == 'posix': import _multiprocessing, _posixshmem` stays conditional:
    // resource_tracker and what imports it are missed.
    assert.equal(measured.filter((m) => !predictedNoWasm.has(m)), [
      'multiprocessing.forkserver', 'multiprocessing.popen_forkserver', 'multiprocessing.resource_tracker', 'multiprocessing.shared_memory',
    ]);
    // Over-reported: Pyodide links _ctypes (and its own js/_pyodide_core) without a MODULE_*_STATE.
    const over = [...predicted].filter((m) => !measured.includes(m));
    assert.ok(over.every((m) => m === 'ctypes' || m.startsWith('ctypes.') || m === 'multiprocessing.sharedctypes' || m === 'pyodide' || m.startsWith('pyodide.')), over.join(' '));
  } finally {
    rmTmp(tmp);
  }
});

real.run();

// ---
const derived = suite('loadBuiltins');

derived('derives the built-ins from a source checkout (its Lib/ beside Modules/), else reads rules/builtins/', () => {
  if (!existsSync(join(cpythonSrcdir, 'Modules/Setup.bootstrap.in'))) {
    if (process.env.CI) assert.unreachable(`CI: no CPython 3.11.2 sources at ${cpythonSrcdir}`);
    return console.log(`  skipped: no CPython sources at ${cpythonSrcdir} (bash test/support/fetch-cpython.sh)`);
  }
  assert.is(loadBuiltins('3.11', cpythonSrcdir).from, cpythonSrcdir);
  assert.equal(loadBuiltins('3.11', cpythonSrcdir).data, BUILTINS);
  // An installed stdlib has no source tree beside it; another version's tree is not used for 3.11.
  assert.is(loadBuiltins('3.11', '/nonexistent').from, 'rules/builtins/3.11.json');
  assert.is(loadBuiltins('3.12', cpythonSrcdir).from, 'rules/builtins/3.12.json');
  // A version without kept data takes the nearest older one's, and says it guessed.
  assert.equal([loadBuiltins('3.15', cpythonSrcdir).from, loadBuiltins('3.15').exact], ['rules/builtins/3.14.json', false]);
  assert.equal([loadBuiltins('3.10').from, loadBuiltins('3.11').exact], ['rules/builtins/3.11.json', true]);
});

derived.run();
