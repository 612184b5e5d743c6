/**
 * Stage 1: walk the stdlib directory. Returns every file below it as a sorted
 * POSIX path relative to the root, skipping `__pycache__` (build leftovers).
 */
import path from 'node:path';
import type fgTypes from 'fast-glob';
import nodeFs from 'node:fs';
import { PackError } from '../errors.js';
import { discoverCached } from '../cache/listing.js';
import { checkMagic, readMagicFromLib } from '../interpreter/index.js';
import { readMagicFromHeader } from '../versions.js';
import type { Context } from './context.js';
import type { ResolvedOptions } from './options/index.js';
import { prunedDirectories, ruleContextOf, type PrunedDirectory, type Rule } from './rules.js';
import type { PackFs } from '../types.js';

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
  // fast-glob answers [] for a missing cwd, so check first.
  let stat: nodeFs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (error) {
    throw new PackError('ERR_LIB_NOT_FOUND', `No stdlib directory at ${root}.`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.', { cause: error });
  }
  if (!stat.isDirectory()) {
    throw new PackError('ERR_LIB_NOT_FOUND', `${root} is not a directory.`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
  }
  let files: string[];
  try {
    files = await fg('**/*', {
      cwd: root,
      dot: true,
      onlyFiles: false,
      markDirectories: true,
      followSymbolicLinks: true,
      ignore: ['**/__pycache__/**', ...prune.map((g) => `${g}**`)],
      fs: fs as unknown as fgTypes.Options['fs'],
      suppressErrors: false,
    });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'error';
    const file = (error as NodeJS.ErrnoException).path ?? root;
    throw new PackError('ERR_FILE_UNREADABLE', `Cannot read ${file} (${errno}).`, 'Fix the permissions or pass another --lib.', { cause: error });
  }
  const dirs = [''];
  files = files.filter((f) => {
    if (!f.endsWith('/')) return true;
    dirs.push(f.slice(0, -1));
    return false;
  });
  dirs.sort(compareCodePoints);
  if (files.length === 0) {
    throw new PackError('ERR_LIB_EMPTY', `The stdlib directory ${root} holds no files.`, 'Point --lib at a CPython Lib/ (it has os.py, importlib/, encodings/ ...).');
  }
  files.sort(compareCodePoints);
  const pruned = prune.length
    ? (await fg(prune.map((g) => g.slice(0, -1)), { cwd: root, dot: true, onlyDirectories: true, fs: fs as unknown as fgTypes.Options['fs'] })).map((d) => `${d}/`).sort(compareCodePoints)
    : [];
  const packages = new Set<string>();
  for (const file of files) {
    if (file === '__init__.py') continue;
    if (file.endsWith('/__init__.py')) packages.add(file.slice(0, -'/__init__.py'.length));
  }
  return { root, files, packages, pruned, dirs };
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
  if (!tree.files.includes('os.py')) {
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
    const magic = readMagicFromLib(String(fs.readFileSync(path.join(lib, 'importlib/_bootstrap_external.py'), 'utf8')));
    if (magic !== undefined) return checkMagic(python, magic, lib);
  }
  const header = path.join(path.dirname(lib), 'Include/internal/pycore_magic_number.h');
  const stated = fs.existsSync(header) ? readMagicFromHeader(String(fs.readFileSync(header, 'utf8'))) : undefined;
  if (stated !== undefined) return checkMagic(python, stated, lib);
  const named = /^python(\d+\.\d+)$/.exec(path.basename(lib))?.[1];
  if (named && named !== options.version) {
    throw new PackError('ERR_PYTHON_VERSION', `${python.executable} is Python ${python.version}, but the stdlib ${lib} is Python ${named} (its directory name); its .pyc files would not load.`, `Pass --build-python <path to python${named}>.`);
  }
}
