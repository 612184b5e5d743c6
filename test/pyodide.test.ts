// Runtime proof in a real WASM CPython: Pyodide 0.25.1 (CPython 3.11.3 on
// Emscripten) in Node. Each bundle is loaded once and shared by the suites that
// need it (a load costs ~1.6 s, importing ~500 modules ~2.5 s on 2 cores).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderOmittedHints, type OmittedModule } from '../src/hints.js';
import {
  importAll,
  importOmitted,
  isSkipped,
  loadBundle,
  pyodideStdlibZip,
  zipModules,
  type Bundle,
} from './support/pyodide.js';

const fixture = new URL('./fixtures/builds/pyodide-0.25.1/', import.meta.url).pathname;
const SYSCONFIGDATA = '_sysconfigdata__emscripten_wasm32-emscripten.py';
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-pyodide-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Loads each zip once per test file. */
const bundles = new Map<string, Promise<Bundle>>();
function bundle(zip: string, env?: Record<string, string>): Promise<Bundle> {
  const key = zip + JSON.stringify(env ?? {});
  if (!bundles.has(key)) bundles.set(key, loadBundle(zip, env ? { env } : {}));
  return bundles.get(key)!;
}

/** Runs Python in the bundle and returns its (string) result. */
function run(b: Bundle, code: string): string {
  return String(b.py.runPython(code));
}

// Modules Pyodide's own zip does not carry (it unvendors or drops them), so the
// hints test can name real omissions of that zip.
const PYODIDE_OMITTED: OmittedModule[] = [
  { module: 'sqlite3', rule: 'ext-sqlite3', reason: 'the _sqlite3 extension module is not available in this build' },
  { module: 'ssl', rule: 'ext-ssl', reason: 'the _ssl extension module is not available in this build' },
  { module: 'test', rule: 'tests', reason: "CPython's regression tests" },
  { module: 'test.support', rule: 'tests', reason: "CPython's regression tests" },
];

/** Pyodide's python_stdlib.zip plus our rendered omitted-hints modules. */
function pyodideZipWithHints(): string {
  const files = unzipSync(readFileSync(pyodideStdlibZip));
  for (const { path, source } of renderOmittedHints(PYODIDE_OMITTED)) files[path] = new TextEncoder().encode(source);
  const zip = join(tmp, 'pyodide-with-hints.zip');
  writeFileSync(zip, zipSync(files, { level: 1 }));
  return zip;
}
let hintsZip: string | undefined;
const withHints = () => bundle((hintsZip ??= pyodideZipWithHints()));

// ---
const fixtureSuite = suite('fixture builds/pyodide-0.25.1');

fixtureSuite('carries the sysconfigdata of the installed pyodide, byte for byte', () => {
  const committed = readFileSync(join(fixture, readFileSync(join(fixture, 'pybuilddir.txt'), 'utf8').trim(), SYSCONFIGDATA));
  const shipped = unzipSync(readFileSync(pyodideStdlibZip), { filter: (f) => f.name === SYSCONFIGDATA })[SYSCONFIGDATA];
  assert.ok(shipped, `${SYSCONFIGDATA} missing from ${pyodideStdlibZip}`);
  assert.ok(Buffer.from(shipped).equals(committed), 'the committed sysconfigdata differs from pyodide@0.25.1');
});

fixtureSuite('disables in its Makefile exactly what the sysconfigdata says the build disabled', () => {
  const makefile = readFileSync(join(fixture, 'Makefile'), 'utf8');
  const names = /^MODDISABLED_NAMES=(.*)$/m.exec(makefile)?.[1].trim().split(/\s+/);
  const sysconfig = readFileSync(join(fixture, 'build/lib.emscripten-wasm32-3.11', SYSCONFIGDATA), 'utf8');
  const recorded = /'MODDISABLED_NAMES': '([^']*)'/.exec(sysconfig)?.[1].trim().split(/\s+/);
  assert.equal(names, ['pwd', '_sqlite3', '_ssl', '_lzma', '_hashlib', '_uuid']);
  assert.equal(names, recorded);
});

fixtureSuite.run();

// ---
const harness = suite("harness on Pyodide's own python_stdlib.zip");

// What fails in Pyodide's own stdlib: Windows-only modules, and modules that
// need extensions Pyodide does not build (_multiprocessing, _posixshmem, msvcrt, termios).
const PYODIDE_OWN_FAILURES = [
  'asyncio.windows_events ImportError',
  'asyncio.windows_utils ImportError',
  'concurrent.futures.process ModuleNotFoundError',
  'encodings.mbcs ImportError',
  'encodings.oem ImportError',
  'multiprocessing.forkserver ModuleNotFoundError',
  'multiprocessing.popen_forkserver ModuleNotFoundError',
  'multiprocessing.popen_spawn_win32 ModuleNotFoundError',
  'multiprocessing.queues ModuleNotFoundError',
  'multiprocessing.resource_tracker ModuleNotFoundError',
  'multiprocessing.shared_memory ModuleNotFoundError',
  'multiprocessing.synchronize ModuleNotFoundError',
  'pty ModuleNotFoundError',
  'tty ModuleNotFoundError',
];

harness('imports every module of the zip and reports exactly the known failures', async () => {
  const b = await withHints();
  const modules = zipModules(pyodideStdlibZip).filter((m) => !isSkipped(m));
  const started = performance.now();
  const report = importAll(b.py, modules);
  const ms = Math.round(performance.now() - started);
  console.log(
    `  pyodide's zip: loaded in ${Math.round(b.loadMs)} ms; ${modules.length} modules, ${report.ok.length} import, ` +
      `${report.failed.length} fail (${ms} ms)`,
  );
  assert.equal(report.failed.map((f) => `${f.module} ${f.type}`), PYODIDE_OWN_FAILURES);
  assert.is(report.ok.length + report.failed.length, modules.length);
});

harness('reports modules the zip lacks as ModuleNotFoundError, and flags one that imports', async () => {
  const b = await withHints();
  assert.equal(importOmitted(b.py, ['sqlite3', 'test.support', 'lzma']), []);
  const wrong = importOmitted(b.py, ['json', 'pty']);
  assert.equal(wrong.map((f) => `${f.module} ${f.type}`), ['json (imported)']);
  assert.equal(importOmitted(b.py, ['encodings.mbcs']).map((f) => f.type), ['ImportError']);
});

harness.run();

// ---
const hints = suite('omitted hints in Pyodide');

hints("are activated by Pyodide's startup through sitecustomize", async () => {
  const b = await withHints();
  assert.is(run(b, `import sys; str(('sitecustomize' in sys.modules, '_pywasm_assets_hints' in sys.modules))`), '(True, True)');
});

hints('add the reason to a caught ModuleNotFoundError, for the module and its submodules', async () => {
  const b = await withHints();
  const out = run(
    b,
    `
import json
def caught(stmt):
    try:
        exec(stmt, {})
    except ImportError as exc:
        return [type(exc).__name__, getattr(exc, '__notes__', [])]
    return 'imported'
json.dumps([caught(s) for s in ['import sqlite3', 'import test.support.os_helper',
    'import importlib; importlib.import_module("ssl")', 'import no_such_module_xyz']])`,
  );
  assert.equal(JSON.parse(out), [
    ['ModuleNotFoundError', ["pywasm-assets omitted 'sqlite3' from this bundle (rule ext-sqlite3: the _sqlite3 extension module is not available in this build)"]],
    ['ModuleNotFoundError', ["pywasm-assets omitted 'test' from this bundle (rule tests: CPython's regression tests)"]],
    ['ModuleNotFoundError', ["pywasm-assets omitted 'ssl' from this bundle (rule ext-ssl: the _ssl extension module is not available in this build)"]],
    ['ModuleNotFoundError', []],
  ]);
});

hints('show the reason in the traceback of an uncaught error', async () => {
  const b = await withHints();
  let message = '';
  try {
    b.py.runPython('import sqlite3');
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(message, /ModuleNotFoundError: .*'sqlite3'/);
  assert.match(message, "pywasm-assets omitted 'sqlite3' from this bundle (rule ext-sqlite3:");
  assert.not.match(message, '_pywasm_assets_hints', 'the hook frame should be trimmed like importlib frames');
});

hints('leave find_spec returning None and `except ImportError` fallbacks working', async () => {
  const b = await withHints();
  const out = run(
    b,
    `
import importlib.util
try:
    import sqlite3 as db
except ImportError:
    db = None
str([importlib.util.find_spec('sqlite3'), importlib.util.find_spec('test'), db])`,
  );
  assert.is(out, '[None, None, None]');
});

hints('can be switched off with PYWASM_ASSETS_HINTS=0', async () => {
  const b = await bundle(hintsZip ?? pyodideZipWithHints(), { PYWASM_ASSETS_HINTS: '0' });
  const out = run(
    b,
    `
import sys
try:
    import sqlite3
except ImportError as exc:
    notes = getattr(exc, '__notes__', [])
str(('sitecustomize' in sys.modules, '_pywasm_assets_hints' in sys.modules, notes))`,
  );
  assert.is(out, '(True, False, [])');
});

hints.run();
