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
 * reported in `skipped`. fast-glob lists each tree without following links
 * (left to itself it follows every link, into loops, and lists every
 * non-directory as a file); the links are judged here.
 */
import path from 'node:path';
import type fgTypes from 'fast-glob';
import nodeFs from 'node:fs';
import picomatch from 'picomatch';
import { PackError } from '../errors.js';
import { discoverCached } from '../cache/listing.js';
import { checkMagic, readMagicFromLib } from '../interpreter/index.js';
import { isInside } from '../output/write.js';
import { fileKind, readInputFile } from '../read-file.js';
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

/**
 * fast-glob, loaded on first use (~30 ms): pack() starts the build interpreter
 * first, so loading it overlaps the interpreter's start-up.
 */
let fastGlob: Promise<typeof fgTypes> | undefined;
const loadFastGlob = () => (fastGlob ??= import('fast-glob').then((m) => m.default));

export async function discover(root: string, fs: PackFs = nodeFs, options: DiscoverOptions = {}): Promise<DiscoverResult> {
  const fg = await loadFastGlob();
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

  /**
   * fast-glob lists the tree below `abs` (walked as `base`) without following links; each link
   * is then judged here, and a directory link that is followed gets a walk of its own.
   */
  const walk = (abs: string, base: string, real: string): void => {
    let entries: fgTypes.Entry[];
    try {
      entries = fg.sync('**', {
        cwd: abs,
        dot: true,
        onlyFiles: false,
        objectMode: true,
        followSymbolicLinks: false,
        // Pruned directories are not read at all below the root; in a linked directory the
        // globs are applied as entries come (below), which gives the same answer.
        ignore: ['**/__pycache__', '**/__pycache__/**', ...(base === '' ? prune.map((g) => `${g}**`) : [])],
        fs: fs as unknown as fgTypes.Options['fs'],
        suppressErrors: false,
      });
    } catch (error) {
      throw unreadable(error, abs);
    }
    // Directories left out (pruned, or reached twice): what is below them is skipped too.
    const excluded: string[] = [];
    const isExcluded = (relative: string) => excluded.length > 0 && excluded.some((d) => relative.startsWith(d));
    const links: fgTypes.Entry[] = [];
    for (const entry of entries) {
      const { path: relative, dirent } = entry;
      if (isExcluded(relative)) continue;
      if (path.posix.basename(relative) === '__pycache__') {
        excluded.push(`${relative}/`);
      } else if (dirent.isSymbolicLink()) {
        links.push(entry);
      } else if (dirent.isDirectory()) {
        const rel = base ? `${base}/${relative}` : relative;
        if (isPruned(rel)) {
          if (base !== '') pruned.push(`${rel}/`); // below the root, fast-glob's own query finds them
          excluded.push(`${relative}/`);
          continue;
        }
        const entryReal = path.join(real, relative);
        const first = walked.get(entryReal);
        if (first !== undefined) {
          // Reached again inside a linked directory (a link into a directory already walked).
          skipped.push({ path: rel, code: 'SYMLINK_SKIPPED', message: `${rel}/ is ${entryReal}, already walked as ${shown(first)}; each directory is packed once; not walked again.` });
          excluded.push(`${relative}/`);
          continue;
        }
        walked.set(entryReal, rel);
        dirs.push(rel);
      } else if (dirent.isFile()) {
        files.push(base ? `${base}/${relative}` : relative);
      } else {
        const rel = base ? `${base}/${relative}` : relative;
        skipped.push({ path: rel, code: 'SPECIAL_FILE_SKIPPED', message: `${rel} is ${fileKind(dirent, 'of an unknown kind')}, not a regular file (reading it would block or never end); not packed.` });
      }
    }
    // Links last, in path order (component by component): which of two ways to one directory
    // is walked must not depend on readdir's order.
    links.sort((a, b) => comparePathParts(a.path, b.path));
    for (const { path: relative } of links) {
      if (isExcluded(relative)) continue;
      const rel = base ? `${base}/${relative}` : relative;
      const entryAbs = path.join(abs, relative);
      let target: nodeFs.Stats;
      try {
        target = fs.statSync(entryAbs);
      } catch {
        files.push(rel); // dangling: listed, and reported by the read if it ships
        continue;
      }
      if (target.isDirectory()) {
        if (isPruned(rel)) {
          if (base !== '') pruned.push(`${rel}/`);
          continue;
        }
        let linkReal: string;
        try {
          linkReal = String(fs.realpathSync(entryAbs));
        } catch (error) {
          throw unreadable(error, entryAbs);
        }
        const why = refusal(rel, String(fs.readlinkSync(entryAbs)), linkReal, path.join(real, path.dirname(relative)));
        if (why) {
          skipped.push({ path: rel, code: 'SYMLINK_SKIPPED', message: why });
          continue;
        }
        walked.set(linkReal, rel);
        dirs.push(rel);
        walk(entryAbs, rel, linkReal);
      } else if (target.isFile()) {
        files.push(rel);
      } else {
        skipped.push({ path: rel, code: 'SPECIAL_FILE_SKIPPED', message: `${rel} -> ${String(fs.readlinkSync(entryAbs))} is ${fileKind(target)}, not a regular file (reading it would block or never end); not packed.` });
      }
    }
  };
  walk(root, '', realRoot);
  if (prune.length) {
    // The root walk's ignore globs leave pruned directories out altogether; this names them.
    const found = fg.sync(prune.map((g) => g.slice(0, -1)), { cwd: root, dot: true, onlyDirectories: true, fs: fs as unknown as fgTypes.Options['fs'] });
    pruned.push(...found.map((d) => `${d}/`));
  }
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

/** Path order component by component (`a/c` before `a-b`), each compared by code point. */
function comparePathParts(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return compareCodePoints(pa[i], pb[i]);
  }
  return pa.length - pb.length;
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
/** What to do about a file the version check cannot read. */
const LIB_HINT = 'Replace it with a regular, readable file, or pass another --lib.';

function checkLibMagic(options: ResolvedOptions, tree: DiscoverResult): void {
  const { fs, lib, python } = options;
  if (tree.files.includes('importlib/_bootstrap_external.py')) {
    const magic = readMagicFromLib(readInputFile(fs, path.join(lib, 'importlib/_bootstrap_external.py'), LIB_HINT).toString('utf8'));
    if (magic !== undefined) return checkMagic(python, magic, lib);
  }
  const header = path.join(path.dirname(lib), 'Include/internal/pycore_magic_number.h');
  const stated = fs.existsSync(header) ? readMagicFromHeader(readInputFile(fs, header, LIB_HINT).toString('utf8')) : undefined;
  if (stated !== undefined) return checkMagic(python, stated, lib);
  const named = /^python(\d+\.\d+)$/.exec(path.basename(lib))?.[1];
  if (named && named !== options.version) {
    throw new PackError('ERR_PYTHON_VERSION', `${python.executable} is Python ${python.version}, but the stdlib ${lib} is Python ${named} (its directory name); its .pyc files would not load.`, `Pass --build-python <path to python${named}>.`);
  }
}

