/**
 * An installed Pyodide distribution (the npm package `pyodide`: pyodide.mjs,
 * pyodide.asm.wasm, pyodide-lock.json, python_stdlib.zip) as an input: its
 * release, the CPython it runs, and its stdlib, which it ships as .py sources in
 * python_stdlib.zip and which is extracted once to a directory to be packed
 * (content-addressed, below the cache directory). Used by the pipeline's Pyodide
 * mode (`--pyodide`) and by the Pyodide build interpreter (interpreter/pyodide-host.ts).
 */
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import { PYODIDE_STDLIB_DIR } from '../cache/cache-dir.js';
import { PackError } from '../errors.js';
import { requireFromPackage } from '../package-paths.js';
import type { PackFs } from '../types.js';

export const STDLIB_ZIP = 'python_stdlib.zip';

const HINT = 'Pass --pyodide <the directory of an installed npm package pyodide (0.25 or later), e.g. node_modules/pyodide>.';

export interface PyodideDistribution {
  /** Absolute directory of the package. */
  dir: string;
  /** Pyodide's release (`0.29.5`). */
  release: string;
  /** The CPython it runs (`3.13.2`), when pyodide-lock.json says. */
  python?: string;
  /** Absolute path of its python_stdlib.zip. */
  stdlibZip: string;
}

function readJson(fs: PackFs, file: string): any {
  try {
    return JSON.parse(String(fs.readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The release of the distribution in `dir`, from its package.json or pyodide-lock.json. */
export function pyodideRelease(dir: string, fs: PackFs = nodeFs): string | undefined {
  const version = readJson(fs, path.join(dir, 'package.json'))?.version ?? readJson(fs, path.join(dir, 'pyodide-lock.json'))?.info?.version;
  return typeof version === 'string' ? version : undefined;
}

/** Reads what `dir` says about itself; ERR_PYODIDE when it is not an installed Pyodide package. */
export function readDistribution(dir: string, fs: PackFs = nodeFs, from = '--pyodide'): PyodideDistribution {
  const stdlibZip = path.join(dir, STDLIB_ZIP);
  let isZip = false;
  try {
    isZip = fs.statSync(stdlibZip).isFile();
  } catch {
    // reported below
  }
  if (!isZip) {
    const what = fs.existsSync(dir) ? `${dir} has no ${STDLIB_ZIP}` : `there is no directory ${dir}`;
    throw new PackError('ERR_PYODIDE', `${from}: ${what}, so it is not an installed Pyodide distribution.`, HINT);
  }
  const python = readJson(fs, path.join(dir, 'pyodide-lock.json'))?.info?.python;
  return {
    dir,
    release: pyodideRelease(dir, fs) ?? 'unknown',
    ...(typeof python === 'string' && /^\d+\.\d+\.\d+$/.test(python) ? { python } : {}),
    stdlibZip,
  };
}

/**
 * Extracts `zip` below `cache` as `python-<version>-<sha256 prefix>/` unless that
 * directory exists, and answers its path. Written to a temporary sibling and renamed
 * into place, so a directory under the final name is always complete; when another
 * process wins the race its copy is kept (the content is the same). Refuses entry
 * names that would land outside it.
 */
export function extractStdlib(zip: Uint8Array, version: string, cache: string, fs: PackFs = nodeFs): string {
  const digest = createHash('sha256').update(zip).digest('hex').slice(0, 16);
  const final = path.join(cache, `python-${version}-${digest}`);
  if (fs.existsSync(final)) return final;
  const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    // fflate is loaded here, the one place a run may need it before the zip (~12 ms otherwise paid by every run).
    const { unzipSync } = requireFromPackage('fflate') as typeof import('fflate');
    const files = unzipSync(zip);
    for (const [name, data] of Object.entries(files)) {
      const parts = name.split('/');
      if (name.startsWith('/') || name.includes('\\') || parts.some((p) => p === '..' || p === '.')) {
        throw new Error(`${STDLIB_ZIP} holds an unsafe entry name ${JSON.stringify(name)}`);
      }
      const target = path.join(tmp, ...parts);
      if (name.endsWith('/')) {
        fs.mkdirSync(target, { recursive: true });
      } else {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data);
      }
    }
    fs.mkdirSync(tmp, { recursive: true }); // an empty zip still gives a directory
    try {
      fs.renameSync(tmp, final);
    } catch (error) {
      if (!fs.existsSync(final)) throw error;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return final;
}

/** The distribution's stdlib as a directory (extracted below `cacheDir` on first use); ERR_PYODIDE when it cannot be. */
export function stdlibDirectory(dist: PyodideDistribution, cacheDir: string, fs: PackFs = nodeFs): string {
  let zip: Uint8Array;
  try {
    zip = fs.readFileSync(dist.stdlibZip);
  } catch (error) {
    throw new PackError('ERR_PYODIDE', `Cannot read ${dist.stdlibZip} (${(error as NodeJS.ErrnoException).code ?? error}).`, HINT, { cause: error });
  }
  try {
    return extractStdlib(zip, dist.python ?? dist.release, path.join(cacheDir, PYODIDE_STDLIB_DIR), fs);
  } catch (error) {
    throw new PackError(
      'ERR_PYODIDE',
      `Cannot extract ${dist.stdlibZip} below ${path.join(cacheDir, PYODIDE_STDLIB_DIR)}: ${(error as Error).message}.`,
      'Check that the zip is intact (reinstall the package) and that the cache directory is writable (--cache-dir).',
      { cause: error },
    );
  }
}
