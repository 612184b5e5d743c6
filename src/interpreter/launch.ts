/**
 * How a build interpreter becomes a command line. A CPython executable runs
 * python/worker.py directly; a Pyodide distribution (a directory holding
 * `pyodide.mjs`, the npm package `pyodide`) is a Node process running
 * pyodide-host.ts, which runs the same worker.py inside that WebAssembly
 * CPython. Also: how long a start may take, and the digest of the scripts a
 * worker runs (the cache key includes it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultCacheDir, PYODIDE_STDLIB_DIR } from '../cache/cache-dir.js';
import { PackError } from '../errors.js';
import { FROM_SOURCES, PYODIDE_HOST_SCRIPT, WORKER_SCRIPTS_DIR } from '../package-paths.js';

/** Milliseconds a CPython may take to start and answer. */
export const PROBE_TIMEOUT_MS = 30_000;
/** Milliseconds a Pyodide may take to start and answer (~2.5 s each on 2 busy cores). */
export const PYODIDE_TIMEOUT_MS = 120_000;

/** The hint of a build interpreter that is missing or not a usable CPython. */
export const pythonHint = "pass --build-python <path to a CPython of the stdlib's version, e.g. python3.11>";
/** The hint of a Pyodide distribution that is incomplete or does not start. */
export const pyodideHint = 'pass --build-python <a Pyodide distribution: the directory of the npm package pyodide, holding pyodide.mjs>';

/** Where worker.py lives: src/interpreter/python/ or dist/interpreter/python/. */
export const workerScript = path.join(WORKER_SCRIPTS_DIR, 'worker.py');

/**
 * The Pyodide host script and the Node arguments that run it: pyodide-host.js
 * beside the built module; from the sources (tests, through tsx), the .ts
 * beside this one with tsx's loader.
 */
function pyodideHost(): { script: string; nodeArgs: string[] } {
  return { script: PYODIDE_HOST_SCRIPT, nodeArgs: FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : [] };
}

/**
 * The Pyodide distribution `executable` names (relative to `cwd`), or undefined
 * when it names a program. A directory (or its `pyodide.mjs`) is a
 * distribution; a directory without `pyodide.mjs` is ERR_PYTHON_NOT_FOUND.
 */
export function pyodideDirOf(executable: string, cwd?: string): string | undefined {
  // A bare name is looked up on PATH, never in the working directory.
  if (!executable.includes('/') && !executable.includes(path.sep)) return undefined;
  const target = path.resolve(cwd ?? process.cwd(), executable);
  let stats;
  try {
    stats = statSync(target);
  } catch {
    return undefined; // spawning reports it as not found
  }
  if (stats.isFile() && path.basename(target) === 'pyodide.mjs') return path.dirname(target);
  if (!stats.isDirectory()) return undefined;
  if (!existsSync(path.join(target, 'pyodide.mjs'))) {
    throw new PackError(
      'ERR_PYTHON_NOT_FOUND',
      `Build interpreter "${executable}" is a directory without pyodide.mjs: neither a CPython executable nor a Pyodide distribution.`,
      pyodideHint,
    );
  }
  return target;
}

/** How a worker process is started. */
export interface Launch {
  command: string;
  args: string[];
  /** Names the interpreter in messages. */
  label: string;
  pyodide: boolean;
}

/**
 * The command line of a worker for `executable`. A probe (`--probe`) only
 * answers `info`; a Pyodide's probe also extracts its stdlib below `cacheDir`.
 * `xoptions` are the interpreter's `-X` options (`no_debug_ranges`).
 */
export function launchFor(executable: string, cwd: string | undefined, probe: boolean, cacheDir?: string, xoptions: string[] = []): Launch {
  const dir = pyodideDirOf(executable, cwd);
  const x = xoptions.flatMap((o) => ['-X', o]);
  if (dir === undefined) {
    return { command: executable, args: ['-E', '-s', '-S', '-B', ...x, workerScript, ...(probe ? ['--probe'] : [])], label: executable, pyodide: false };
  }
  const host = pyodideHost();
  const stdlibCache = probe ? ['--stdlib-cache', path.join(cacheDir ?? defaultCacheDir(cwd ?? process.cwd()), PYODIDE_STDLIB_DIR)] : [];
  return {
    command: process.execPath,
    args: [...host.nodeArgs, host.script, dir, ...(probe ? ['--probe'] : []), ...stdlibCache, ...x],
    label: `Pyodide at ${dir}`,
    pyodide: true,
  };
}

/**
 * sha256 over the worker scripts; changes when worker.py or imports.py change.
 * For a Pyodide, also over the host script and the Pyodide release.
 */
export function workerDigest(pyodide?: string): string {
  const hash = createHash('sha256');
  const files = ['worker.py', 'imports.py'].map((name) => [name, path.join(WORKER_SCRIPTS_DIR, name)]);
  if (pyodide !== undefined) files.push(['pyodide-host', pyodideHost().script]);
  for (const [name, file] of files) {
    hash.update(name + '\0');
    if (existsSync(file)) hash.update(readFileSync(file));
    hash.update('\0');
  }
  if (pyodide !== undefined) hash.update(`pyodide ${pyodide}\0`);
  return hash.digest('hex');
}
