// CPython 3.13, proven in a real runtime: CPython 3.13.15's Lib/ packed with the default
// profile and the facts of a real 3.13 Emscripten build (Pyodide 0.29.5's, as a build-root
// fixture), compiled by a native 3.13.15, then loaded into Pyodide 0.29.5 (CPython 3.13.2):
// it boots, every shipped module imports, every omitted one raises ModuleNotFoundError.
// Needs .cache/cpython-3.13.15 (test/support/fetch-cpython.sh 3.13.15) and
// .cache/python-3.13.15 (test/support/build-native-python.sh 3.13.15); under CI a missing
// one fails. Cost: ~10 s compile (cold), ~10 s Pyodide load, ~5 s imports.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, skip } from './helpers.js';
import { PYODIDE } from './support/pyodide.js';
import { embeddedDefaultProblems, proveInPyodide, type VersionProof } from './support/versions.js';
import { pack } from '../src/index.js';

const LIB = join(REPO, '.cache/cpython-3.13.15/Lib');
const PYTHON = join(REPO, '.cache/python-3.13.15/bin/python3.13');
const BUILDDIR = join(REPO, 'test/fixtures/builds/emscripten-3.13');

function whyNot(): string {
  if (!existsSync(join(LIB, 'os.py'))) return `no CPython 3.13.15 sources at ${LIB} (bash test/support/fetch-cpython.sh 3.13.15)`;
  if (!existsSync(PYTHON)) return `no native CPython 3.13.15 at ${PYTHON} (bash test/support/build-native-python.sh 3.13.15)`;
  return '';
}
const missing = whyNot();
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-3.13-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

let proof: Promise<VersionProof> | undefined;
const proven = () => (proof ??= proveInPyodide(PYODIDE['3.13'], join(tmp, 'native'), { lib: LIB, buildPython: PYTHON, builddir: BUILDDIR }));

const runtime = suite('3.13: CPython 3.13.15 Lib/, native 3.13.15, in Pyodide 0.29.5');

runtime.before(() => {
  if (missing && process.env.CI) throw new Error(`CI: ${missing}`);
});

runtime('boots Pyodide, and every shipped module imports', async () => {
  if (missing) return skip(missing);
  const p = await proven();
  console.log(`  3.13: ${p.shipped.length} shipped, ${p.imports.ok.length} import, ${p.omitted.missing.length + p.omitted.frozen.length} outermost omitted; pack ${p.packMs} ms, load ${p.loadMs} ms`);
  assert.is(p.result.version, '3.13');
  assert.equal(p.imports.failed, []);
  assert.ok(p.shipped.length > 400, `${p.shipped.length} modules shipped`);
  for (const m of ['typing', 'inspect', 'logging', 'traceback', 'asyncio', 'unittest', 'collections.abc', 'email.message', 'importlib.metadata', '_pyodide', 'pyodide']) {
    assert.ok(p.imports.ok.includes(m) || (m === 'collections.abc' && p.imports.ok.includes('collections')), `${m} ships and imports`);
  }
});

runtime('every omitted module raises ModuleNotFoundError', async () => {
  if (missing) return skip(missing);
  const p = await proven();
  assert.equal(p.omitted.wrong, []);
  assert.ok(p.omitted.missing.includes('test') && p.omitted.missing.includes('tkinter'));
});

runtime('no warnings but the ones the facts explain: nothing unmatched, no version guessed', async () => {
  if (missing) return skip(missing);
  const p = await proven();
  assert.equal(p.result.warnings.filter((w) => w.code === 'RULE_UNMATCHED' || w.code === 'UNKNOWN_VERSION'), []);
});

runtime.run();

// ---
const compiler = suite('3.13: Pyodide 0.29.5 (CPython 3.13.2) as build interpreter');

compiler("gives a zip byte-identical to the native 3.13.15's for 3.13.15's Lib/", async () => {
  if (missing) return skip(missing);
  const packWith = (python: string, name: string) => pack({ lib: LIB, builddir: BUILDDIR, buildPython: python, prefix: '/usr/local', out: join(tmp, name), package: false, cacheDir: join(tmp, `cache-${name}`) });
  const native = await packWith(PYTHON, 'zip-native');
  const started = performance.now();
  const wasm = await packWith(PYODIDE['3.13'].dir, 'zip-pyodide');
  const zip = (r: typeof native) => readFileSync(r.outputs.find((o) => o.kind === 'zip')!.path);
  console.log(`  3.13: ${wasm.kept.length} modules compiled by Pyodide 0.29.5 in ${Math.round(performance.now() - started)} ms (native: ${native.stats.timings.total} ms)`);
  assert.is(wasm.kept.length, native.kept.length);
  assert.ok(zip(wasm).equals(zip(native)), 'the zips differ');
});

compiler.run();

// ---
const embedded = suite('3.13: the embedded default with a native 3.13.15');

embedded('packs its own stdlib with the built-in description of a stock 3.13 build: nothing guessed, nothing unmatched, the sysconfigdata written', async () => {
  if (missing) return skip(missing);
  const result = await pack({ buildPython: PYTHON, out: join(tmp, 'embedded'), cacheDir: join(tmp, 'cache-embedded'), cwd: tmp });
  assert.is(result.version, '3.13');
  assert.equal(embeddedDefaultProblems(result), []);
});

embedded.run();
