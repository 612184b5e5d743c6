/**
 * The plain option values: each checked against what it may be, each default set
 * here. Nothing here depends on the build or the interpreter.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../../cache/cache-dir.js';
import { PackError } from '../../errors.js';
import type { PackCompression, PackInvalidation, PackOptions, PackPrecompression, PackProfile, PackSources } from '../../types.js';

const PROFILES: PackProfile[] = ['cpython', 'wasm'];
const INVALIDATIONS: PackInvalidation[] = ['unchecked-hash', 'checked-hash', 'timestamp'];
const SOURCES: PackSources[] = ['pyc', 'py', 'both'];
const COMPRESSIONS: PackCompression[] = ['deflate', 'stored'];
const PRECOMPRESSIONS: PackPrecompression[] = ['br', 'gz'];
/** What a Pyodide distribution decides itself, so Pyodide mode (`--pyodide`) takes none of them. */
const NOT_WITH_PYODIDE = ['builddir', 'srcdir', 'lib', 'sysconfigdata', 'prefix'] as const;

export interface OptionValues {
  profile: PackProfile;
  optimize: 0 | 1 | 2;
  invalidation: PackInvalidation;
  debugRanges: boolean;
  sources: PackSources;
  /** `auto`: the target decides (see target.ts chooseCompression). */
  compression: PackCompression | 'auto';
  level: number;
  jobs: number;
  /** Pyodide mode: the distribution's directory (absolute). */
  pyodide?: string;
  precompress: PackPrecompression[];
  /** `--prefix` as given (checked absolute), if given. */
  prefix?: string;
  add: string[];
  provides: string[];
  keep: string[];
  omit: string[];
  strict: boolean;
  allowSyntaxErrors: boolean;
  cache: boolean;
  cacheDir: string;
  inlineMetadata: boolean;
  omittedHints: boolean;
  sourceDateEpoch: number;
}

export function oneOf<T extends string | number>(value: T | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new PackError('ERR_OPTION', `--${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** The plain values of `input`, defaults applied; ERR_OPTION for a value that cannot be. */
export function optionValues(input: PackOptions, cwd: string): OptionValues {
  const abs = (p: string) => path.resolve(cwd, p);
  const level = input.level ?? 9;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new PackError('ERR_OPTION', `--level must be an integer from 0 to 9; got ${input.level}.`);
  const jobs = input.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw new PackError('ERR_OPTION', `--jobs must be a positive integer; got ${input.jobs}.`);
  if (input.srcdir && input.lib) throw new PackError('ERR_OPTION', 'Pass either --srcdir or --lib, not both.');
  if (input.prefix !== undefined && !input.prefix.startsWith('/')) {
    throw new PackError('ERR_OPTION', `--prefix must be an absolute path inside the WebAssembly file system, like /usr/local; got ${JSON.stringify(input.prefix)}.`);
  }
  checkPyodideMode(input);
  const envEpoch = process.env.SOURCE_DATE_EPOCH;
  const profile: PackProfile = input.pyodide !== undefined ? 'pyodide' : oneOf(input.profile, PROFILES, 'profile', 'wasm');
  const sources = oneOf(input.sources, SOURCES, 'sources', 'pyc');
  if (input.debugRanges !== undefined && typeof input.debugRanges !== 'boolean') throw new PackError('ERR_OPTION', `debugRanges must be true or false; got ${JSON.stringify(input.debugRanges)}.`);
  return {
    ...(input.pyodide !== undefined ? { pyodide: abs(input.pyodide) } : {}),
    precompress: precompressions(input.precompress),
    profile,
    optimize: oneOf(input.optimize, [0, 1, 2] as const, 'optimize', 0),
    invalidation: oneOf(input.invalidation, INVALIDATIONS, 'invalidation', 'unchecked-hash'),
    sources,
    // The reference's pycs carry them; without the source next to it, no traceback can show them.
    debugRanges: input.debugRanges ?? (profile === 'cpython' || sources !== 'pyc'),
    compression: oneOf<PackCompression | 'auto'>(input.compression, [...COMPRESSIONS], 'compression', 'auto'),
    level,
    jobs,
    prefix: input.prefix,
    add: (input.add ?? []).map(abs),
    provides: input.provides ?? [],
    keep: input.keep ?? [],
    omit: input.omit ?? [],
    strict: input.strict ?? false,
    allowSyntaxErrors: input.allowSyntaxErrors ?? false,
    cache: input.cache ?? true,
    cacheDir: input.cacheDir ? abs(input.cacheDir) : defaultCacheDir(cwd),
    inlineMetadata: input.inlineMetadata ?? false,
    omittedHints: input.omittedHints ?? false,
    sourceDateEpoch: input.sourceDateEpoch ?? (envEpoch && /^\d+$/.test(envEpoch) ? Number(envEpoch) : 315532800),
  };
}

/**
 * Pyodide mode takes its stdlib, build facts and layout from the distribution: the
 * options that would say otherwise are refused, and the mode's own profile and target
 * need the mode.
 */
function checkPyodideMode(input: PackOptions): void {
  if (input.pyodide === undefined) {
    if (input.profile === 'pyodide' || input.target === 'pyodide') {
      throw new PackError('ERR_OPTION', `--${input.profile === 'pyodide' ? 'profile' : 'target'} pyodide is the Pyodide mode's, which needs the distribution.`, 'Pass --pyodide <the directory of an installed npm package pyodide>.');
    }
    return;
  }
  if (typeof input.pyodide !== 'string' || !input.pyodide) throw new PackError('ERR_OPTION', `--pyodide must name a directory; got ${JSON.stringify(input.pyodide)}.`);
  const flag = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const name of NOT_WITH_PYODIDE) {
    if (input[name] !== undefined) {
      throw new PackError('ERR_OPTION', `--${flag(name)} cannot be combined with --pyodide: the Pyodide distribution is the stdlib, the build facts and the layout (its zip goes to /lib/python3XY.zip).`, `Drop --${flag(name)}.`);
    }
  }
  if (input.profile !== undefined && input.profile !== 'pyodide') {
    throw new PackError('ERR_OPTION', `--profile ${input.profile} cannot be combined with --pyodide: the Pyodide mode keeps what Pyodide ships (profile pyodide).`, 'Drop --profile; trim with --omit (the import check drops what then cannot import).');
  }
  if (input.target !== undefined && input.target !== 'pyodide') {
    throw new PackError('ERR_OPTION', `--target ${input.target} cannot be combined with --pyodide: the output is a drop-in python_stdlib.zip for that Pyodide (target pyodide).`, 'Drop --target.');
  }
  if (typeof input.package === 'string') {
    throw new PackError('ERR_OPTION', `--package ${input.package} cannot be combined with --pyodide: Pyodide fetches python_stdlib.zip itself (loadPyodide's stdLibURL).`, 'Drop --package.');
  }
}

function precompressions(value: PackOptions['precompress']): PackPrecompression[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const v of list) {
    if (!PRECOMPRESSIONS.includes(v)) throw new PackError('ERR_OPTION', `--precompress takes ${PRECOMPRESSIONS.join(', ')} (comma-separated); got ${JSON.stringify(v)}.`, 'Pass --precompress br,gz.');
  }
  return PRECOMPRESSIONS.filter((p) => list.includes(p));
}
