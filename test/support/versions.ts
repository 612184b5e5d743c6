/**
 * The per-version runtime proof (test/version-3.X.test.ts): pack a version's stdlib
 * with the default profile and that version's real build facts, load the zip into the
 * Pyodide release of that version (in a child process), then import every shipped
 * module in it and check that every omitted one raises ModuleNotFoundError.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../../src/index.js';
import { probeInterpreter } from '../../src/interpreter/index.js';
import type { PackOptions, PackResult } from '../../src/types.js';
import { REPO } from '../helpers.js';
import { isSkipped, moduleName, outermostModules, PYODIDE, type ImportReport, type OmittedReport, type PyodideRelease } from './pyodide.js';
import { PyodideProcess } from './pyodide-process.js';

/** Modules Pyodide's runtime creates itself (its JS bridge; pyodide_js since 0.26), which its packages import. */
export const PYODIDE_RUNTIME_MODULES = ['js', '_pyodide_core', 'pyodide_js'];

/** Pyodide's bootstrap packages `_pyodide/` and `pyodide/`, extracted from its zip into `dir`, for `add`. */
export function pyodidePackages(release: PyodideRelease, dir: string): string[] {
  const files = unzipSync(readFileSync(release.stdlibZip), { filter: (f) => /^(_pyodide|pyodide)\//.test(f.name) });
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    const target = join(dir, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  return [join(dir, '_pyodide'), join(dir, 'pyodide')];
}

/** Every shipped module minus IMPORT_SKIPS (`__main__` modules, antigravity...). */
export function shippedModules(result: PackResult): string[] {
  return [...new Set(result.kept.map((k) => k.module))].filter((m) => !isSkipped(m)).sort();
}

/** Outermost dotted names of the omitted stdlib modules. */
export function omittedModules(result: PackResult): string[] {
  return outermostModules(result.omitted.map((o) => moduleName(o.path)).filter((m): m is string => m !== undefined));
}

export interface VersionProof {
  result: PackResult;
  zip: string;
  packMs: number;
  loadMs: number;
  shipped: string[];
  imports: ImportReport;
  omitted: OmittedReport;
}

/**
 * Packs (`options` say the stdlib, interpreter and build facts; the Pyodide packages and
 * runtime modules are added, the prefix is `/` so the zip is Pyodide's /lib/python3XY.zip)
 * and proves the zip in `release`.
 */
export async function proveInPyodide(release: PyodideRelease, tmp: string, options: PackOptions): Promise<VersionProof> {
  const started = performance.now();
  const result = await pack({
    // A Pyodide's own stdlib has them already; CPython's Lib/ gets them added.
    add: options.lib && existsSync(join(options.lib, '_pyodide')) ? [] : pyodidePackages(release, join(tmp, 'pyodide-packages')),
    provides: PYODIDE_RUNTIME_MODULES,
    out: join(tmp, 'out'),
    package: false,
    prefix: '/',
    cacheDir: join(tmp, 'cache'),
    ...options,
  });
  const packMs = Math.round(performance.now() - started);
  const zip = result.outputs.find((o) => o.kind === 'zip')!.path;
  const py = PyodideProcess.start(release, zip);
  try {
    const loadMs = Math.round(await py.loadMs);
    const shipped = shippedModules(result);
    const imports = await py.importAll(shipped);
    const omitted = await py.importOmitted(omittedModules(result));
    return { result, zip, packMs, loadMs, shipped, imports, omitted };
  } finally {
    py.close();
  }
}

/** The embedded default's acceptance: no version guessed, nothing unmatched, the target's sysconfigdata in the zip. */
export function embeddedDefaultProblems(result: PackResult): string[] {
  const problems = result.warnings.filter((w) => w.code === 'UNKNOWN_VERSION' || w.code === 'RULE_UNMATCHED' || w.code === 'NO_SYSCONFIGDATA').map((w) => `${w.code}: ${w.message}`);
  if (!result.kept.some((k) => k.origin === 'sysconfigdata' && k.module === '_sysconfigdata__emscripten_wasm32-emscripten')) problems.push('no sysconfigdata in the zip');
  return problems;
}

/**
 * The suites of a version proven on a Pyodide release's own sources, compiled by that
 * Pyodide (3.12 and 3.14: no CPython source tree or native interpreter is reachable here):
 * the default profile with the facts of its real build (the emscripten-<version> build-root
 * fixture) boots that Pyodide, every shipped module imports, every omitted one raises
 * ModuleNotFoundError; the embedded default guesses nothing and writes the sysconfigdata.
 */
export function pyodideSourcesSuites(version: '3.12' | '3.14'): void {
  const release = PYODIDE[version];
  const builddir = join(REPO, `test/fixtures/builds/emscripten-${version}`);
  const tmp = mkdtempSync(join(tmpdir(), `pywasm-assets-${version}-`));
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  const cacheDir = join(tmp, 'cache');

  let proof: Promise<VersionProof> | undefined;
  const proven = () =>
    (proof ??= (async () => {
      const info = await probeInterpreter(release.dir, { cacheDir });
      return proveInPyodide(release, join(tmp, 'default'), { lib: info.stdlib, buildPython: release.dir, builddir, cacheDir });
    })());

  const runtime = suite(`${version}: Pyodide ${release.release}'s sources, compiled by Pyodide ${release.release}, in Pyodide ${release.release}`);

  runtime('boots Pyodide, and every shipped module imports', async () => {
    const p = await proven();
    console.log(`  ${version}: ${p.shipped.length} shipped, ${p.imports.ok.length} import, ${p.omitted.missing.length + p.omitted.frozen.length} outermost omitted; pack ${p.packMs} ms, load ${p.loadMs} ms`);
    assert.is(p.result.version, version);
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

  const embedded = suite(`${version}: the embedded default with Pyodide ${release.release} as build interpreter`);

  embedded(`packs that Pyodide's own stdlib with the built-in description of a stock ${version} build: nothing guessed, nothing unmatched, the sysconfigdata written`, async () => {
    const result = await pack({ buildPython: release.dir, out: join(tmp, 'embedded'), cacheDir, cwd: tmp });
    assert.is(result.version, version);
    assert.equal(embeddedDefaultProblems(result), []);
  });

  embedded.run();
}
