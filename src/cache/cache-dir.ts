/**
 * The default cache directory, shared by the options (the compile cache) and
 * the interpreter bridge (a Pyodide's extracted stdlib), and how the caches that
 * keep several files choose which to keep. It lives here and imports nothing of
 * the project (types aside), so all can use it without a cycle.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { PackFs } from '../types.js';

/** The cache's subdirectory where Pyodide distributions' stdlibs are extracted (by content). */
export const PYODIDE_STDLIB_DIR = 'pyodide-stdlib';

/**
 * Where the compile cache lives by default: `node_modules/.cache/pywasm-assets` of the
 * nearest directory with a package.json (the find-cache-dir convention), else the
 * user's cache directory ($XDG_CACHE_HOME or ~/.cache), so that running in, say, a
 * CPython checkout does not create a node_modules/ there.
 */
export function defaultCacheDir(cwd: string): string {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'node_modules', '.cache', 'pywasm-assets');
    if (path.dirname(dir) === dir) break;
  }
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'pywasm-assets');
}

/**
 * Marks a cache file as used now (its mtime), for byLastUse: the files a cache keeps are
 * those used last. Best effort (a read-only cache is still read): never throws.
 */
export function markUsed(fs: PackFs, file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // kept or dropped by age alone
  }
}

/** `names` (files in `dir`), used last first; a name that cannot be stat'ed counts as oldest. */
export function byLastUse(fs: PackFs, dir: string, names: string[]): string[] {
  const used = (name: string) => {
    try {
      return fs.statSync(path.join(dir, name)).mtimeMs;
    } catch {
      return -Infinity;
    }
  };
  return names
    .map((name) => ({ name, at: used(name) }))
    .sort((a, b) => b.at - a.at)
    .map((e) => e.name);
}
