// Runtime proof in a real WASM CPython: Pyodide 0.25.1 (CPython 3.11.3 on
// Emscripten) in Node. Each bundle is loaded once and shared by the suites that
// need it (a load costs ~1.6 s, importing ~500 modules ~2.5 s on 2 cores).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderOmittedHints, type OmittedModule } from '../src/pipeline/omitted-hints/index.js';
import { pack, type PackOptions, type PackResult } from '../src/index.js';
import {
  importAll,
  importOmitted,
  isSkipped,
  loadBundle,
  moduleName,
  outermostModules,
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
  assert.equal(importOmitted(b.py, ['lzma', 'sqlite3', 'test.support']), {
    missing: ['lzma', 'sqlite3', 'test.support'],
    frozen: [],
    wrong: [],
  });
  const report = importOmitted(b.py, ['__hello__', 'encodings.mbcs', 'json', 'pty']);
  assert.equal(report.missing, ['pty']);
  assert.equal(report.frozen, ['__hello__']);
  assert.equal(report.wrong.map((f) => `${f.module} ${f.type}`), ['encodings.mbcs ImportError', 'json (imported)']);
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

hints('can be switched off with PYWASM_ASSETS_HINTS=0, and switched on by importing _pywasm_assets_hints', async () => {
  const b = await bundle(hintsZip ?? pyodideZipWithHints(), { PYWASM_ASSETS_HINTS: '0' });
  const out = run(
    b,
    `
import json, sys
def notes():
    try:
        import sqlite3
    except ImportError as exc:
        return getattr(exc, '__notes__', [])
before = ['sitecustomize' in sys.modules, '_pywasm_assets_hints' in sys.modules, notes()]
import _pywasm_assets_hints  # what an embedder without site/sitecustomize does
json.dumps([before, len(notes())])`,
  );
  assert.equal(JSON.parse(out), [[true, false, []], 1]);
});

hints.run();

// --- Bundles made by pack() from the machine's CPython 3.11 stdlib with Pyodide's build facts.

/** The machine's python3 stdlib, or undefined (the pack suites then skip and say why). */
function machineStdlib(): string | undefined {
  try {
    const out = execFileSync('python3', ['-c', 'import sys, sysconfig; print(sys.version_info[:2] == (3, 11)); print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' });
    const [is311, stdlib] = out.trim().split('\n');
    return is311 === 'True' ? stdlib : undefined;
  } catch {
    return undefined;
  }
}
const stdlib = machineStdlib();
const SKIP_PACK = stdlib ? '' : 'no python3.11 on PATH: the pack-in-Pyodide suites are skipped';

/** Modules Pyodide's runtime creates itself (its JS bridge), which its packages import. */
const PYODIDE_RUNTIME_MODULES = ['js', '_pyodide_core'];

/** Pyodide's bootstrap packages, extracted once from its zip for `add`. */
let pyodideAdds: string[] | undefined;
function pyodidePackages(): string[] {
  if (pyodideAdds) return pyodideAdds;
  const dir = join(tmp, 'pyodide-packages');
  const files = unzipSync(readFileSync(pyodideStdlibZip), { filter: (f) => /^(_pyodide|pyodide)\//.test(f.name) });
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    const target = join(dir, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  return (pyodideAdds = [join(dir, '_pyodide'), join(dir, 'pyodide')]);
}

interface Packed {
  result: PackResult;
  zip: string;
  packMs: number;
}
const packs = new Map<string, Promise<Packed>>();
function packed(name: string, options: Partial<PackOptions>): Promise<Packed> {
  if (!packs.has(name)) {
    packs.set(
      name,
      (async () => {
        const builddir = join(tmp, `build-${name}`);
        cpSync(fixture, builddir, { recursive: true });
        const started = performance.now();
        const result = await pack({
          lib: stdlib,
          builddir,
          buildPython: 'python3',
          add: pyodidePackages(),
          provides: PYODIDE_RUNTIME_MODULES,
          out: join(tmp, `out-${name}`),
          package: false,
          prefix: '/',
          cacheDir: join(tmp, 'pack-cache'),
          ...options,
        });
        const zip = result.outputs.find((o) => o.kind === 'zip')!.path;
        return { result, zip, packMs: Math.round(performance.now() - started) };
      })(),
    );
  }
  return packs.get(name)!;
}
// wasm: the default profile, pyc only, with the omitted-hints modules.
const wasm = () => packed('wasm', { profile: 'wasm', omittedHints: true });
// cpython: the reference's decisions, sources shipped too (tracebacks show code).
const cpython = () => packed('cpython', { profile: 'cpython', sources: 'both' });

/**
 * Every shipped module minus IMPORT_SKIPS: the stdlib's, the added `_pyodide`/`pyodide`
 * packages (shipped too, and Pyodide imports them), the sysconfigdata and generated ones.
 */
function shippedModules(result: PackResult): string[] {
  return [...new Set(result.kept.map((k) => k.module))].filter((m) => !isSkipped(m)).sort();
}

/** Outermost dotted names of the omitted stdlib modules. */
function omittedModules(result: PackResult): string[] {
  return outermostModules(result.omitted.map((o) => moduleName(o.path)).filter((m): m is string => m !== undefined));
}


/** Modules the static import check says cannot import (warnings `IMPORT_UNAVAILABLE`). */
function predictedFailures(result: PackResult): Map<string, string> {
  const predicted = new Map<string, string>();
  for (const w of result.warnings) {
    if (w.code !== 'IMPORT_UNAVAILABLE') continue;
    const module = (w as { module?: string }).module ?? (w.path ? moduleName(w.path) : undefined);
    if (module) predicted.set(module, w.message);
  }
  return predicted;
}

function timing(label: string, p: Packed, b: Bundle, importMs: number, report: { ok: string[]; failed: unknown[] }, total: number) {
  console.log(
    `  ${label}: pack ${p.packMs} ms, load ${Math.round(b.loadMs)} ms, ${total} modules shipped, ` +
      `${report.ok.length} import, ${report.failed.length} fail (${Math.round(importMs)} ms)`,
  );
}

// ---
const wasmSuite = suite('pack --profile wasm, in Pyodide');

wasmSuite('every shipped module imports', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const p = await wasm();
  const b = await bundle(p.zip);
  const modules = shippedModules(p.result);
  const started = performance.now();
  const report = importAll(b.py, modules);
  timing('wasm', p, b, performance.now() - started, report, modules.length);
  assert.ok(modules.length > 350, `only ${modules.length} modules shipped`);
  assert.equal(report.failed.map((f) => `${f.module}: ${f.type}: ${f.message.split('\n')[0]}`), []);
  // ... and the static check agrees: nothing shipped is predicted to fail.
  assert.equal(p.result.warnings.filter((w) => w.code === 'IMPORT_UNAVAILABLE').map((w) => w.message), []);
});

wasmSuite('every omitted stdlib module raises ModuleNotFoundError', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const p = await wasm();
  const b = await bundle(p.zip);
  const omitted = omittedModules(p.result);
  const report = importOmitted(b.py, omitted);
  console.log(`  wasm: ${omitted.length} outermost omitted modules, ${report.missing.length} not found, frozen: ${report.frozen.join(' ') || '-'}`);
  assert.equal(report.wrong.map((f) => `${f.module}: ${f.type}: ${f.message.split('\n')[0]}`), []);
  // No omitted module survives as a frozen copy in the interpreter (__hello__/__phello__ are not omitted).
  assert.equal(report.frozen, []);
  assert.is(report.missing.length, omitted.length);
});

wasmSuite('a traceback names the in-bundle path where Pyodide mounts the zip', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const b = await bundle((await wasm()).zip);
  const out = JSON.parse(
    run(
      b,
      `
import json, json.decoder, sys, traceback
try:
    json.loads('{')
except ValueError as exc:
    frames = [(f.filename, f.line) for f in traceback.extract_tb(exc.__traceback__)]
json.dumps({'path': sys.path, 'origin': json.decoder.__spec__.origin, 'frames': frames})`,
    ),
  ) as { path: string[]; origin: string; frames: [string, string][] };
  assert.ok(out.path.includes('/lib/python311.zip'), out.path.join(' '));
  assert.is(out.origin, '/lib/python311.zip/json/decoder.pyc');
  assert.equal(out.frames.slice(1), [
    ['/lib/python311.zip/json/__init__.py', ''],
    ['/lib/python311.zip/json/decoder.py', ''],
    ['/lib/python311.zip/json/decoder.py', ''],
  ]);
});

wasmSuite('--omitted-hints: the note, find_spec and except ImportError in the packed bundle', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const p = await wasm();
  const b = await bundle(p.zip);
  const sqlite = p.result.omitted.find((o) => o.path === 'sqlite3/__init__.py');
  assert.ok(sqlite, 'sqlite3 should be omitted (_sqlite3 is disabled in the fixture Makefile)');
  const out = JSON.parse(
    run(
      b,
      `
import importlib.util, json
try:
    import sqlite3
except ImportError as exc:
    caught = [type(exc).__name__, getattr(exc, '__notes__', [])]
json.dumps({'caught': caught, 'spec': importlib.util.find_spec('sqlite3')})`,
    ),
  );
  assert.equal(out, {
    caught: ['ModuleNotFoundError', [`pywasm-assets omitted 'sqlite3' from this bundle (rule ${sqlite.rule}: ${sqlite.reason})`]],
    spec: null,
  });
});

wasmSuite.run();

// ---
const embeddedSuite = suite('pack with the embedded default build description (no build root), in Pyodide');

embeddedSuite('every shipped module imports, and sysconfig and pydoc work from the generated sysconfigdata', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  // No builddir: the facts and the sysconfigdata come from rules/builds/emscripten-3.11.json.
  const started = performance.now();
  const result = await pack({ lib: stdlib, buildPython: 'python3', add: pyodidePackages(), provides: PYODIDE_RUNTIME_MODULES, out: join(tmp, 'out-embedded'), package: false, prefix: '/', cacheDir: join(tmp, 'pack-cache') });
  const p: Packed = { result, zip: result.outputs.find((o) => o.kind === 'zip')!.path, packMs: Math.round(performance.now() - started) };
  assert.is(result.kept[0].module, '_sysconfigdata__emscripten_wasm32-emscripten');
  const b = await bundle(p.zip);
  const modules = shippedModules(result);
  const t = performance.now();
  const report = importAll(b.py, modules);
  timing('embedded default', p, b, performance.now() - t, report, modules.length);
  assert.equal(report.failed.map((f) => `${f.module}: ${f.type}: ${f.message.split('\n')[0]}`), []);
  const answer = run(b, `import json, sysconfig, pydoc
v = sysconfig.get_config_vars()
json.dumps([v['MACHDEP'], v['LIBDEST'], v['MODULE__SSL_STATE'], pydoc.getdoc(json.dumps).splitlines()[0]])`);
  assert.equal(JSON.parse(answer), ['emscripten', '/lib/python3.11', 'missing', 'Serialize ``obj`` to a JSON formatted ``str``.']);
});

embeddedSuite.run();

// ---
const cpythonSuite = suite('pack --profile cpython, in Pyodide');

cpythonSuite('the static check predicted every runtime import failure', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const p = await cpython();
  const b = await bundle(p.zip);
  const modules = shippedModules(p.result);
  const started = performance.now();
  const report = importAll(b.py, modules);
  timing('cpython', p, b, performance.now() - started, report, modules.length);
  const predicted = predictedFailures(p.result);
  const missed = report.failed.filter((f) => !predicted.has(f.module));
  const failed = new Set(report.failed.map((f) => f.module));
  const imported = new Set(modules);
  const over = [...predicted].filter(([m]) => imported.has(m) && !failed.has(m));
  console.log(`  cpython: static check predicts ${predicted.size} failures; runtime ${report.failed.length}; missed ${missed.length}; over-reported ${over.length}`);
  for (const [m, why] of over) console.log(`    over-reported: ${m}: ${why}`);
  assert.equal(missed.map((f) => `${f.module}: ${f.type}: ${f.message.split('\n')[0]}`), []);
  // With the runtime's own modules declared (--provides js _pyodide_core), the prediction is exact.
  assert.equal(over.map(([m, why]) => `${m}: ${why}`), []);
  assert.ok(report.failed.length > 0, 'the cpython profile is expected to ship modules that fail (REFERENCE.md §1)');
});

cpythonSuite('every omitted stdlib module raises ModuleNotFoundError', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const p = await cpython();
  const report = importOmitted((await bundle(p.zip)).py, omittedModules(p.result));
  assert.equal(report.wrong.map((f) => `${f.module}: ${f.type}: ${f.message.split('\n')[0]}`), []);
  assert.equal(report.frozen, []);
  // The reference's Emscripten network omissions, among others.
  for (const m of ['email', 'http', 'socketserver', 'urllib.request']) assert.ok(report.missing.includes(m), m);
});

cpythonSuite('with sources both, a traceback shows the code line', async () => {
  if (SKIP_PACK) return console.log(`  skipped: ${SKIP_PACK}`);
  const b = await bundle((await cpython()).zip);
  const text = run(
    b,
    `
import json, traceback
try:
    json.loads('{')
except ValueError as exc:
    text = ''.join(traceback.format_exception(exc))
text`,
  );
  assert.match(text, 'File "/lib/python311.zip/json/decoder.py", line');
  assert.match(text, 'obj, end = self.scan_once(s, idx)');
});

// uvu runs every test file in one process: let the Pyodide instances (~100 MB each) be collected.
cpythonSuite.after(() => {
  bundles.clear();
  packs.clear();
});

cpythonSuite.run();
