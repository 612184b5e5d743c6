/**
 * Stage 1: walk the stdlib directory. Returns every file below it as a sorted
 * POSIX path relative to the root, skipping `__pycache__` (build leftovers).
 *
 * What the walk follows (README "What the walk follows"): symbolic links to
 * regular files and to directories, but a directory at most once: a link back
 * into the stdlib (to `.`, to an ancestor, to another of its directories), to a
 * directory that contains the stdlib, or to a directory already walked is not
 * followed (a loop would pack nested copies until the kernel's ELOOP, and two
 * links to `.` make the walk exponential). Only regular files are listed: a
 * FIFO, a device or a socket is not (reading one hangs or never ends). Both are
 * reported in `skipped`. The walk is our own rather than fast-glob's, which
 * follows every link and lists every non-directory as a file.
 */
import path from 'node:path';
import nodeFs from 'node:fs';
import picomatch from 'picomatch';
import { PackError } from '../errors.js';
import { discoverCached } from '../cache/listing.js';
import { checkMagic, readMagicFromLib } from '../interpreter/index.js';
import { isInside } from '../output/write.js';
import { fileKind, readFailure, readRegularFile } from '../read-file.js';
import { readMagicFromHeader } from '../versions.js';
import type { Context } from './context.js';
import type { ResolvedOptions } from './options/index.js';
import { prunedDirectories, ruleContextOf, type PrunedDirectory, type Rule } from './rules.js';
import type { PackFs, PackWarning } from '../types.js';

/** An entry the walk did not take, and why (a warning of the run). */
export interface SkippedEntry {
  /** Relative POSIX path of the entry. */
  path: string;
  /** `SYMLINK_SKIPPED`: a directory link not followed; `SPECIAL_FILE_SKIPPED`: not a regular file. */
  code: 'SYMLINK_SKIPPED' | 'SPECIAL_FILE_SKIPPED';
  message: string;
}

export interface DiscoverResult {
  /** Absolute stdlib root. */
  root: string;
  /** Every file, POSIX, relative to `root`, in code-point order. */
  files: string[];
  /** Directories (relative) that hold an `__init__.py`: Python packages. */
  packages: Set<string>;
  /** Directories matched by `prune` globs, not walked, as `dir/`. */
  pruned: string[];
  /** Every directory walked, relative (the root is `''`), in code-point order: what listing.ts watches. */
  dirs: string[];
  /** Directory links not followed and files that are not regular files, by path. */
  skipped: SkippedEntry[];
}

export interface DiscoverOptions {
  /** `dir/` globs of directories not to walk (e.g. `site-packages/`). */
  prune?: string[];
}

export async function discover(root: string, fs: PackFs = nodeFs, options: DiscoverOptions = {}): Promise<DiscoverResult> {
  const prune = options.prune ?? [];
  let stat: nodeFs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (error) {
    throw new PackError('ERR_LIB_NOT_FOUND', `No stdlib directory at ${root}.`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.', { cause: error });
  }
  if (!stat.isDirectory()) {
    throw new PackError('ERR_LIB_NOT_FOUND', `${root} is not a directory.`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
  }
  const unreadable = (error: unknown, file: string) => {
    const e = error as NodeJS.ErrnoException;
    return new PackError('ERR_FILE_UNREADABLE', `Cannot read ${e.path ?? file} (${e.code ?? 'error'}).`, 'Fix the permissions or pass another --lib.', { cause: error });
  };
  const pruneMatchers = prune.map((g) => picomatch(g.replace(/\/$/, ''), { dot: true }));
  const isPruned = (rel: string) => pruneMatchers.some((m) => m(rel));

  const files: string[] = [];
  const dirs = [''];
  const pruned: string[] = [];
  const skipped: SkippedEntry[] = [];
  let realRoot: string;
  try {
    realRoot = String(fs.realpathSync(root));
  } catch (error) {
    throw unreadable(error, root);
  }
  /** Real path → the relative path it was walked as: each real directory is walked once. */
  const walked = new Map<string, string>([[realRoot, '']]);
  const shown = (rel: string) => (rel ? `${rel}/` : 'the stdlib root');

  /** Why the directory link `rel` (in the directory whose real path is `parentReal`), resolving to `target`, is not followed; undefined: follow it. */
  const refusal = (rel: string, link: string, target: string, parentReal: string): string | undefined => {
    const to = `${rel} -> ${link}`;
    if (target === realRoot) return `${to} leads back to the stdlib root: a loop; not followed.`;
    if (isInside(realRoot, target)) return `${to} leads to ${target}, which contains the stdlib: a loop; not followed.`;
    if (isInside(parentReal, target)) {
      const ancestor = walked.get(target);
      return `${to} leads back to ${ancestor === undefined ? target : shown(ancestor)}, which contains the link: a loop; not followed.`;
    }
    if (isInside(target, realRoot)) {
      const inner = path.relative(realRoot, target).split(path.sep).join('/');
      return `${to} leads to ${inner}/, a directory of this stdlib, which is packed under its own name; not followed.`;
    }
    const first = walked.get(target);
    if (first !== undefined) return `${to} leads to ${target}, already walked as ${shown(first)}; each directory is packed once; not followed.`;
    return undefined;
  };

  const walk = (abs: string, rel: string, real: string): void => {
    let entries: nodeFs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true }) as nodeFs.Dirent[];
    } catch (error) {
      throw unreadable(error, abs);
    }
    // Code-point order: which of two ways to one directory is walked must not depend on readdir's order.
    const named = entries.map((e) => ({ entry: e, name: String(e.name) })).sort((a, b) => compareCodePoints(a.name, b.name));
    for (const { entry, name } of named) {
      if (name === '__pycache__') continue;
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = path.join(abs, name);
      let target: nodeFs.Stats | undefined;
      if (entry.isSymbolicLink()) {
        try {
          target = fs.statSync(childAbs);
        } catch {
          files.push(childRel); // dangling: listed, and reported by the read if it ships
          continue;
        }
      }
      const isDir = target ? target.isDirectory() : entry.isDirectory();
      const isFile = target ? target.isFile() : entry.isFile();
      if (isDir) {
        if (isPruned(childRel)) {
          pruned.push(`${childRel}/`);
          continue;
        }
        let childReal = path.join(real, name);
        if (target) {
          try {
            childReal = String(fs.realpathSync(childAbs));
          } catch (error) {
            throw unreadable(error, childAbs);
          }
          const why = refusal(childRel, String(fs.readlinkSync(childAbs)), childReal, real);
          if (why) {
            skipped.push({ path: childRel, code: 'SYMLINK_SKIPPED', message: why });
            continue;
          }
        } else if (walked.has(childReal)) {
          // Reached again inside a linked directory (a bind mount or a link above it).
          skipped.push({ path: childRel, code: 'SYMLINK_SKIPPED', message: `${childRel}/ is ${childReal}, already walked as ${shown(walked.get(childReal)!)}; each directory is packed once; not walked again.` });
          continue;
        }
        walked.set(childReal, childRel);
        dirs.push(childRel);
        walk(childAbs, childRel, childReal);
      } else if (isFile) {
        files.push(childRel);
      } else {
        const what = target ? `${childRel} -> ${String(fs.readlinkSync(childAbs))} is ${fileKind(target)}` : `${childRel} is ${kindOfEntry(entry)}`;
        skipped.push({ path: childRel, code: 'SPECIAL_FILE_SKIPPED', message: `${what}, not a regular file (reading it would block or never end); not packed.` });
      }
    }
  };
  walk(root, '', realRoot);
  if (files.length === 0) {
    throw new PackError('ERR_LIB_EMPTY', `The stdlib directory ${root} holds no files.`, 'Point --lib at a CPython Lib/ (it has os.py, importlib/, encodings/ ...).');
  }
  files.sort(compareCodePoints);
  dirs.sort(compareCodePoints);
  pruned.sort(compareCodePoints);
  skipped.sort((a, b) => compareCodePoints(a.path, b.path));
  const packages = new Set<string>();
  for (const file of files) {
    if (file === '__init__.py') continue;
    if (file.endsWith('/__init__.py')) packages.add(file.slice(0, -'/__init__.py'.length));
  }
  return { root, files, packages, pruned, dirs, skipped };
}

function kindOfEntry(entry: nodeFs.Dirent): string {
  if (entry.isFIFO()) return 'a FIFO (named pipe)';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isSocket()) return 'a socket';
  return 'of an unknown kind';
}

/** Python's str order: by code point (JS `<` compares UTF-16 units, which differs past the BMP). */
export function compareCodePoints(a: string, b: string): number {
  for (let i = 0; ; ) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
}

/**
 * The order `zipfile.PyZipFile.writepy` adds a tree in, which the reference
 * uses: each directory's entries sorted by name (files and sub-packages
 * interleaved), except that a package's `__init__.py` comes first.
 */
export function compareTreeOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] === pb[i]) continue;
    const aInit = i === pa.length - 1 && pa[i] === '__init__.py' && i > 0;
    const bInit = i === pb.length - 1 && pb[i] === '__init__.py' && i > 0;
    if (aInit !== bInit) return aInit ? -1 : 1;
    return compareCodePoints(pa[i], pb[i]);
  }
  return pa.length - pb.length;
}

/** Dotted module name of a stdlib-relative .py path: `json/__init__.py` → `json`. */
export function moduleName(file: string): string {
  const parts = file.replace(/\.py$/, '').split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  return parts.join('.');
}

// --- the stage -----------------------------------------------------------------------

/** Where a head start put a walk of the stdlib it began before the options were final. */
export interface DiscoveryAhead {
  lib: string;
  prune: string[];
  tree: Promise<DiscoverResult>;
}

/**
 * Stage: discover. Walks the stdlib (not the directories `prune` rules omit whole),
 * through the listing cache; takes a walk started ahead when it is of the same tree
 * with the same prune globs. Checks that it is a stdlib (os.py) of the interpreter's
 * version (the bytecode magic it states).
 */
export async function discoverStdlib(ctx: Context, rules: Rule[], ahead?: DiscoveryAhead): Promise<{ tree: DiscoverResult; pruned: PrunedDirectory[] }> {
  const { options } = ctx;
  const { fs, lib } = options;
  const pruned = prunedDirectories(rules, ruleContextOf(options));
  const globs = pruned.map((p) => p.glob);
  const reuse = ahead && ahead.lib === lib && ahead.prune.join('\0') === globs.join('\0');
  const tree = await (reuse ? ahead.tree : discoverCached(fs, options.cache ? options.cacheDir : undefined, lib, globs, () => discover(lib, fs, { prune: globs })));
  ctx.warnings.push(...tree.skipped.map((s): PackWarning => ({ code: s.code, path: s.path, message: s.message })));
  if (!tree.files.includes('os.py')) {
    const skipped = tree.skipped.find((s) => s.path === 'os.py');
    if (skipped) throw new PackError('ERR_NO_OS_PY', `${lib}: ${skipped.message}`, 'Replace os.py with the regular file of the stdlib, or point --lib at another stdlib.');
    throw new PackError('ERR_NO_OS_PY', `${lib} has no os.py, so it is not a Python stdlib (CPython finds its stdlib by os.py).`, 'Point --lib at a CPython Lib/ or lib/python3.X directory.');
  }
  checkLibMagic(options, tree);
  return { tree, pruned };
}

/**
 * The stdlib's bytecode magic, to check the interpreter against: stated in its
 * importlib/_bootstrap_external.py up to 3.13; since 3.14 only in the source
 * tree's Include/internal/pycore_magic_number.h. An installed stdlib of 3.14
 * says its version by its directory name (lib/python3.14) instead.
 */
function checkLibMagic(options: ResolvedOptions, tree: DiscoverResult): void {
  const { fs, lib, python } = options;
  if (tree.files.includes('importlib/_bootstrap_external.py')) {
    const magic = readMagicFromLib(readInput(fs, path.join(lib, 'importlib/_bootstrap_external.py')));
    if (magic !== undefined) return checkMagic(python, magic, lib);
  }
  const header = path.join(path.dirname(lib), 'Include/internal/pycore_magic_number.h');
  const stated = fs.existsSync(header) ? readMagicFromHeader(readInput(fs, header)) : undefined;
  if (stated !== undefined) return checkMagic(python, stated, lib);
  const named = /^python(\d+\.\d+)$/.exec(path.basename(lib))?.[1];
  if (named && named !== options.version) {
    throw new PackError('ERR_PYTHON_VERSION', `${python.executable} is Python ${python.version}, but the stdlib ${lib} is Python ${named} (its directory name); its .pyc files would not load.`, `Pass --build-python <path to python${named}>.`);
  }
}

/** A file the version check reads, as text; ERR_FILE_UNREADABLE when it is no regular file or cannot be read. */
function readInput(fs: PackFs, file: string): string {
  try {
    return readRegularFile(fs, file).toString('utf8');
  } catch (error) {
    throw new PackError('ERR_FILE_UNREADABLE', `Cannot read ${file} (${readFailure(error)}).`, 'Replace it with a regular, readable file, or pass another --lib.', { cause: error });
  }
}
