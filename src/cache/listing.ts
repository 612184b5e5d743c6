/**
 * The last discovery of a stdlib, kept in the cache directory and reused while
 * none of its directories changed, so a warm run does not walk the tree (nor
 * load fast-glob: ~50 ms of a ~250 ms warm run).
 *
 * A directory's mtime changes whenever an entry is added to it, removed from it
 * or renamed in it: exactly what changes a listing (file contents are read and
 * hashed on every run anyway). The check is one stat per walked directory.
 * Coarse or equal timestamps cannot hide a change: a listing is reused only if
 * every directory's mtime is at least RACY_MS older than the walk that produced
 * it (the racy-git rule), so a change made during or just before the walk means
 * walking again next time.
 *
 * Best effort, like the compile cache: a missing, damaged or foreign file is a
 * miss, and failing to write it never fails a pack.
 */
import path from 'node:path';
import type { DiscoverResult } from '../pipeline/discover.js';
import { writeFileBestEffort } from '../output/write.js';
import type { PackFs } from '../types.js';

export const LISTING_FILE = 'listing-v1.json';
/** Directories modified this close to (or after) the start of the walk are not trusted. */
export const RACY_MS = 2000;

const FORMAT = 'pywasm-assets listing 1';

interface StoredListing {
  format: typeof FORMAT;
  root: string;
  prune: string[];
  /** When the walk started (ms since the epoch). */
  walkedAt: number;
  /** [relative dir, mtimeMs] for every walked directory. */
  dirs: [string, number][];
  files: string[];
  packages: string[];
  pruned: string[];
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The stored listing, if the file holds one of this format. */
function readStored(fs: PackFs, cacheDir: string): StoredListing | undefined {
  try {
    const stored = JSON.parse(String(fs.readFileSync(path.join(cacheDir, LISTING_FILE), 'utf8'))) as StoredListing;
    return stored.format === FORMAT && typeof stored.root === 'string' ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** The stored discovery of `root` with these prune globs, if no directory of it changed; else undefined. */
export function loadListing(fs: PackFs, cacheDir: string, root: string, prune: string[]): DiscoverResult | undefined {
  const stored = readStored(fs, cacheDir);
  if (!stored) return undefined;
  try {
    if (stored.root !== root || !same(stored.prune, prune)) return undefined;
    if (!Array.isArray(stored.dirs) || !stored.dirs.length || !Array.isArray(stored.files) || !stored.files.length) return undefined;
    for (const [dir, mtime] of stored.dirs) {
      if (!(mtime < stored.walkedAt - RACY_MS)) return undefined;
      const stat = fs.statSync(dir ? path.join(root, dir) : root);
      if (!stat.isDirectory() || stat.mtimeMs !== mtime) return undefined;
    }
    return {
      root,
      files: stored.files.map(String),
      packages: new Set(stored.packages.map(String)),
      pruned: stored.pruned.map(String),
      dirs: stored.dirs.map(([d]) => String(d)),
    };
  } catch {
    return undefined;
  }
}

/**
 * Stores a discovery made by a walk that started at `walkedAt` (Date.now()).
 * Directories are stat'ed now: one modified since the walk began is newer than
 * `walkedAt - RACY_MS`, so loadListing will not trust the file.
 */
export function saveListing(fs: PackFs, cacheDir: string, result: DiscoverResult, prune: string[], walkedAt: number): void {
  let dirs: [string, number][];
  try {
    dirs = result.dirs.map((d) => [d, fs.statSync(d ? path.join(result.root, d) : result.root).mtimeMs]);
  } catch {
    return; // a directory went away since the walk: nothing worth keeping
  }
  const stored: StoredListing = {
    format: FORMAT,
    root: result.root,
    prune,
    walkedAt,
    dirs,
    files: result.files,
    packages: [...result.packages],
    pruned: result.pruned,
  };
  writeFileBestEffort(fs, path.join(cacheDir, LISTING_FILE), JSON.stringify(stored));
}

/**
 * discover(), through the stored listing when it is still true. `walk` is the
 * real discovery (fast-glob); its result is stored for the next run.
 */
export async function discoverCached(
  fs: PackFs,
  cacheDir: string | undefined,
  root: string,
  prune: string[],
  walk: () => Promise<DiscoverResult>,
): Promise<DiscoverResult> {
  if (cacheDir) {
    const hit = loadListing(fs, cacheDir, root, prune);
    if (hit) return hit;
  }
  const walkedAt = Date.now();
  const result = await walk();
  if (cacheDir) saveListing(fs, cacheDir, result, prune, walkedAt);
  return result;
}
