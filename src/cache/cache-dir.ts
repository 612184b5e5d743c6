/**
 * The default cache directory, shared by the options (the compile cache) and
 * the interpreter bridge (a Pyodide's extracted stdlib). It lives here and
 * imports nothing of the project, so both can use it without a cycle.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

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
