/**
 * The last discovery of a stdlib, kept in the cache directory and reused while the
 * tree's directories hold exactly what they held, so a warm run does not walk the
 * tree again.
 *
 * What decides reuse is each walked directory's entries (names and kinds, a symbolic
 * link by the kind and real path of what it points to), read again with one readdir
 * each (~5 ms for the stdlib), and the root's real path: the walk's result is a
 * function of exactly that (which directory links it follows depends on where they
 * lead, pipeline/discover.ts; a FIFO or device it skips is an entry of kind `o`). Not mtimes: `tar`, `rsync -a` and
 * `cp -a` restore a directory's mtime after changing it, and a listing trusted on
 * mtimes would then miss the change. A cache may make a run faster, never different.
 *
 * Best effort, like the compile cache: a missing, damaged or foreign file is a
 * miss, and failing to write it never fails a pack.
 */
import path from 'node:path';
import type { DiscoverResult, SkippedEntry } from '../pipeline/discover.js';
import { writeFileBestEffort } from '../output/write.js';
import { readRegularFile } from '../read-file.js';
import type { PackFs } from '../types.js';

export const LISTING_FILE = 'listing-v3.json';

const FORMAT = 'pywasm-assets listing 3';

interface StoredListing {
  format: typeof FORMAT;
  root: string;
  /** The root's real path (directory links are followed by where they lead). */
  realRoot: string;
  prune: string[];
  /** [relative dir, its entries' signature] for every walked directory. */
  dirs: [string, string][];
  files: string[];
  packages: string[];
  pruned: string[];
  skipped: SkippedEntry[];
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * What a directory holds, as the walk sees it: its entries' names and kinds (`d` directory,
 * `f` file, `o` other; a symbolic link `l`, the kind it points to and, for a directory, its
 * real path, URI-encoded so that the name stays after the first `:`), sorted, __pycache__
 * left out (the walk ignores it, and Python writes it).
 */
function signature(fs: PackFs, dir: string): string {
  const parts: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const name = String(entry.name);
    if (name === '__pycache__') continue;
    let kind = entry.isDirectory() ? 'd' : entry.isFile() ? 'f' : 'o';
    if (entry.isSymbolicLink()) {
      let target = 'x';
      try {
        const stat = fs.statSync(path.join(dir, name));
        target = stat.isDirectory() ? `d@${encodeURIComponent(String(fs.realpathSync(path.join(dir, name))))}` : stat.isFile() ? 'f' : 'o';
      } catch {
        // a dangling link
      }
      kind = `l${target}`;
    }
    parts.push(`${kind}:${name}`);
  }
  return parts.sort().join('\0');
}

/** The stored listing, if the file holds one of this format. */
function readStored(fs: PackFs, cacheDir: string): StoredListing | undefined {
  try {
    const stored = JSON.parse(readRegularFile(fs, path.join(cacheDir, LISTING_FILE), Infinity).toString('utf8')) as StoredListing;
    return stored.format === FORMAT && typeof stored.root === 'string' ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** The stored discovery of `root` with these prune globs, if every directory of it holds what it held; else undefined. */
export function loadListing(fs: PackFs, cacheDir: string, root: string, prune: string[]): DiscoverResult | undefined {
  const stored = readStored(fs, cacheDir);
  if (!stored) return undefined;
  try {
    if (stored.root !== root || !same(stored.prune, prune) || stored.realRoot !== String(fs.realpathSync(root))) return undefined;
    if (!Array.isArray(stored.dirs) || !stored.dirs.length || !Array.isArray(stored.files) || !stored.files.length) return undefined;
    for (const [dir, held] of stored.dirs) {
      if (signature(fs, dir ? path.join(root, dir) : root) !== held) return undefined;
    }
    return {
      root,
      files: stored.files.map(String),
      packages: new Set(stored.packages.map(String)),
      pruned: stored.pruned.map(String),
      dirs: stored.dirs.map(([d]) => String(d)),
      skipped: stored.skipped.map((e) => ({ path: String(e.path), code: e.code, message: String(e.message) })),
    };
  } catch {
    return undefined;
  }
}

/** The entries the walk saw in each directory: its files, sub-directories and pruned directories, by name. */
function entriesSeen(result: DiscoverResult): Map<string, string[]> {
  const seen = new Map<string, string[]>(result.dirs.map((d) => [d, []]));
  const add = (rel: string) => {
    const slash = rel.lastIndexOf('/');
    seen.get(slash < 0 ? '' : rel.slice(0, slash))?.push(rel.slice(slash + 1));
  };
  for (const f of result.files) add(f);
  for (const d of result.dirs) if (d) add(d);
  for (const p of result.pruned) add(p.slice(0, -1));
  for (const s of result.skipped) add(s.path);
  return seen;
}

/**
 * Stores a discovery with each walked directory's signature, read now, after the walk,
 * and only if every signature names exactly the entries the walk saw there: a change made
 * during the walk leaves nothing stored. What is stored is then true of the tree as it
 * was when read, and any later change shows as another signature.
 */
export function saveListing(fs: PackFs, cacheDir: string, result: DiscoverResult, prune: string[]): void {
  let dirs: [string, string][];
  let realRoot: string;
  try {
    realRoot = String(fs.realpathSync(result.root));
    dirs = result.dirs.map((d) => [d, signature(fs, d ? path.join(result.root, d) : result.root)]);
  } catch {
    return; // a directory went away since the walk: nothing worth keeping
  }
  const seen = entriesSeen(result);
  for (const [dir, held] of dirs) {
    const names = held ? held.split('\0').map((e) => e.slice(e.indexOf(':') + 1)) : [];
    if (!same(names.sort(), [...(seen.get(dir) ?? [])].sort())) return; // changed while walked
  }
  const stored: StoredListing = {
    format: FORMAT,
    root: result.root,
    realRoot,
    prune,
    dirs,
    files: result.files,
    packages: [...result.packages],
    pruned: result.pruned,
    skipped: result.skipped,
  };
  writeFileBestEffort(fs, path.join(cacheDir, LISTING_FILE), JSON.stringify(stored));
}

/**
 * discover(), through the stored listing when it is still true. `walk` is the
 * real discovery (the walk); its result is stored for the next run.
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
  const result = await walk();
  if (cacheDir) saveListing(fs, cacheDir, result, prune);
  return result;
}
