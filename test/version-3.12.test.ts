// CPython 3.12, proven in a real runtime: no CPython 3.12 source tree or native interpreter is
// reachable here, so the stdlib is Pyodide 0.27.7's own (its python_stdlib.zip, CPython 3.12.7's
// sources trimmed by Pyodide) and the build interpreter is that Pyodide itself
// (--build-python <its package directory>). Packed with the default profile and the facts of
// its real build (the emscripten-3.12 build-root fixture), the zip boots Pyodide 0.27.7, every
// shipped module imports and every omitted one raises ModuleNotFoundError. The embedded
// default (no stdlib, no build facts given) guesses nothing and writes the sysconfigdata.
// Cost: two Pyodide workers start (~4 s each), compile ~450 modules (~5 s), one load (~5 s).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import { probeInterpreter } from '../src/interpreter/index.js';
import { REPO } from './helpers.js';
import { PYODIDE } from './support/pyodide.js';
import { embeddedDefaultProblems, proveInPyodide, type VersionProof } from './support/versions.js';

const RELEASE = PYODIDE['3.12'];
const BUILDDIR = join(REPO, 'test/fixtures/builds/emscripten-3.12');
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-3.12-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = join(tmp, 'cache');

let proof: Promise<VersionProof> | undefined;
const proven = () =>
  (proof ??= (async () => {
    const info = await probeInterpreter(RELEASE.dir, { cacheDir });
    return proveInPyodide(RELEASE, join(tmp, 'default'), { lib: info.stdlib, buildPython: RELEASE.dir, builddir: BUILDDIR, cacheDir });
  })());

const runtime = suite('3.12: Pyodide 0.27.7\'s sources, compiled by Pyodide 0.27.7, in Pyodide 0.27.7');

runtime('boots Pyodide, and every shipped module imports', async () => {
  const p = await proven();
  console.log(`  3.12: ${p.shipped.length} shipped, ${p.imports.ok.length} import, ${p.omitted.missing.length + p.omitted.frozen.length} outermost omitted; pack ${p.packMs} ms, load ${p.loadMs} ms`);
  assert.is(p.result.version, '3.12');
  assert.equal(p.imports.failed, []);
  assert.ok(p.shipped.length > 400, `${p.shipped.length} modules shipped`);
  for (const m of ['typing', 'inspect', 'logging', 'asyncio', 'email.message', 'importlib.metadata', '_pyodide', 'pyodide']) assert.ok(p.imports.ok.includes(m), `${m} ships and imports`);
});

runtime('every omitted module raises ModuleNotFoundError', async () => {
  const p = await proven();
  assert.equal(p.omitted.wrong, []);
  assert.ok(p.omitted.missing.length > 0);
});

runtime('nothing unmatched and no version guessed', async () => {
  const p = await proven();
  assert.equal(p.result.warnings.filter((w) => w.code === 'RULE_UNMATCHED' || w.code === 'UNKNOWN_VERSION'), []);
});

runtime.run();

// ---
const embedded = suite('3.12: the embedded default with Pyodide 0.27.7 as build interpreter');

embedded("packs that Pyodide's own stdlib with the built-in description of a stock 3.12 build: nothing guessed, nothing unmatched, the sysconfigdata written", async () => {
  const result = await pack({ buildPython: RELEASE.dir, out: join(tmp, 'embedded'), cacheDir, cwd: tmp });
  assert.is(result.version, '3.12');
  assert.equal(embeddedDefaultProblems(result), []);
});

embedded.run();
