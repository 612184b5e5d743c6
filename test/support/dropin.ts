/**
 * The Pyodide drop-in proof (test/pyodide-dropin-*.test.ts): pack a Pyodide
 * release's own stdlib in Pyodide mode (`pack({ pyodide })`), then load that
 * release twice, in child processes: once with its own python_stdlib.zip, once
 * with ours as `stdLibURL`. Every module that imports from its zip must import
 * from ours; runPython and runPythonAsync must work; a traceback must name the
 * in-bundle path (/lib/python3XY.zip/...).
 */
import { join } from 'node:path';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../../src/index.js';
import type { PackOptions, PackResult } from '../../src/types.js';
import { isSkipped, zipModules, type ImportFailure, type PyodideRelease } from './pyodide.js';
import { PyodideProcess } from './pyodide-process.js';
import { skip } from '../helpers.js';

export interface DropInProof {
  result: PackResult;
  zip: string;
  packMs: number;
  /** Module names the release's own zip holds (IMPORT_SKIPS left out). */
  modules: string[];
  theirs: { loadMs: number; importMs: number; ok: string[]; failed: ImportFailure[] };
  ours: { loadMs: number; importMs: number; ok: string[]; failed: ImportFailure[] };
  /** Imported from Pyodide's zip, not from ours. */
  lost: ImportFailure[];
  /** runPython's answer to a computation, runPythonAsync's to an awaited one. */
  runPython: string | null;
  runPythonAsync: string | null;
  /** traceback.format_exc() of an exception raised inside json.decoder. */
  traceback: string;
}

const TRACEBACK_PY = `
import json, traceback
try:
    json.loads('{"unterminated": ')
except ValueError:
    tb = traceback.format_exc()
tb
`;

/** Boots `release` with `zip`, imports `modules`; with `probe`, also runs the runPython checks. */
async function boot(release: PyodideRelease, zip: string, modules: string[], probe: boolean) {
  const py = PyodideProcess.start(release, zip);
  try {
    const loadMs = Math.round(await py.loadMs);
    const started = performance.now();
    const report = await py.importAll(modules);
    const importMs = Math.round(performance.now() - started);
    if (!probe) return { loadMs, importMs, ...report };
    const runPython = (await py.run('import statistics\nstr(statistics.median([3, 1, 4, 1, 5, 9, 2, 6]) * 2)')).result;
    const runPythonAsync = (await py.run('import asyncio\nawait asyncio.sleep(0.01)\nsum(await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(10))))', { async: true })).result;
    const traceback = (await py.run(TRACEBACK_PY)).result ?? '';
    return { loadMs, importMs, ...report, runPython, runPythonAsync, traceback };
  } finally {
    py.close();
  }
}

/** Packs `release` in Pyodide mode into `tmp` (`options` add to it) and proves the zip against the release's own. */
export async function proveDropIn(release: PyodideRelease, tmp: string, options: Partial<PackOptions> = {}): Promise<DropInProof> {
  const started = performance.now();
  const result = await pack({ pyodide: release.dir, out: join(tmp, 'out'), cacheDir: join(tmp, 'cache'), ...options });
  const packMs = Math.round(performance.now() - started);
  const zip = result.outputs.find((o) => o.kind === 'zip')!.path;
  const modules = zipModules(release.stdlibZip).filter((m) => !isSkipped(m));
  // One release at a time: two Pyodides booting at once on 2 cores would only slow both.
  const theirs = await boot(release, release.stdlibZip, modules, false);
  const ours = await boot(release, zip, modules, true);
  const lost = theirs.ok.filter((m) => !ours.ok.includes(m)).map((m) => ours.failed.find((f) => f.module === m) ?? { module: m, type: '(missing)', message: 'not imported' });
  return {
    result,
    zip,
    packMs,
    modules,
    theirs: { loadMs: theirs.loadMs, importMs: theirs.importMs, ok: theirs.ok, failed: theirs.failed },
    ours: { loadMs: ours.loadMs, importMs: ours.importMs, ok: ours.ok, failed: ours.failed },
    lost,
    runPython: ours.runPython,
    runPythonAsync: ours.runPythonAsync,
    traceback: ours.traceback,
  };
}

/**
 * The acceptance suite of one release: `compiler` says which interpreter compiles
 * (`options.buildPython`, else the release itself); `missing`, when set, is why the
 * suite cannot run here (a skip, or a failure under CI).
 */
export function dropInSuite(release: PyodideRelease, tmp: string, options: Partial<PackOptions>, compiler: string, missing = ''): { proven: () => Promise<DropInProof>; test: Test } {
  let proof: Promise<DropInProof> | undefined;
  const proven = () => (proof ??= proveDropIn(release, tmp, options));
  const nodot = release.python.split('.').slice(0, 2).join('');
  const test = suite(`Pyodide ${release.release} (CPython ${release.python}) drop-in, compiled by ${compiler}`);
  test.before(() => {
    if (missing && process.env.CI) throw new Error(`CI: ${missing}`);
  });

  test('boots with the drop-in zip, and every module that imports from its own zip imports from ours', async () => {
    if (missing) return skip(missing);
    const p = await proven();
    console.log(
      `  Pyodide ${release.release}: ${p.result.stats.modules} modules packed in ${p.packMs} ms; ${p.ours.ok.length}/${p.modules.length} import (own zip: ${p.theirs.ok.length});` +
        ` load ${p.ours.loadMs} ms (own ${p.theirs.loadMs}), imports ${p.ours.importMs} ms (own ${p.theirs.importMs})`,
    );
    assert.equal(p.lost, []);
    assert.ok(p.theirs.ok.length > 450, `${p.theirs.ok.length} modules import from Pyodide's own zip`);
    for (const m of ['_pyodide', 'pyodide', 'pyodide.ffi', 'asyncio', 'typing', 'json']) assert.ok(p.ours.ok.includes(m), `${m} imports`);
    assert.equal(p.result.target, 'pyodide');
    assert.equal(p.result.profile, 'pyodide');
    assert.equal(p.result.pyodide, { dir: release.dir, release: release.release, python: release.python });
    assert.equal(p.result.outputs.map((o) => [o.kind, o.path]), [['zip', join(tmp, 'out', 'python_stdlib.zip')]]);
  });

  test('pyodide.runPython and runPythonAsync work', async () => {
    if (missing) return skip(missing);
    const p = await proven();
    assert.is(p.runPython, '7.0');
    assert.is(p.runPythonAsync, '45');
  });

  test("an exception's traceback names the in-bundle path", async () => {
    if (missing) return skip(missing);
    const p = await proven();
    assert.match(p.traceback, new RegExp(`File "/lib/python${nodot}\\.zip/json/decoder\\.py", line \\d+, in raw_decode`));
    assert.match(p.traceback, /json\.decoder\.JSONDecodeError: Expecting value/);
    assert.not.match(p.traceback, new RegExp(tmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no host path');
  });
  return { proven, test };
}
