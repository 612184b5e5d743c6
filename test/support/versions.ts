/**
 * The per-version runtime proof (test/version-3.X.test.ts): pack a version's stdlib
 * with the default profile and that version's real build facts, load the zip into the
 * Pyodide release of that version (in a child process), then import every shipped
 * module in it and check that every omitted one raises ModuleNotFoundError.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { pack } from '../../src/index.js';
import type { PackOptions, PackResult } from '../../src/types.js';
import { isSkipped, moduleName, outermostModules, type ImportReport, type OmittedReport, type PyodideRelease } from './pyodide.js';
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
