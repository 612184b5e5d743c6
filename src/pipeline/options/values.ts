/**
 * The plain option values: each checked against what it may be, each default set
 * here. Nothing here depends on the build or the interpreter.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../../cache/cache-dir.js';
import { clip, PackError, shown } from '../../errors.js';
import { JOBS_PER_CORE, MAX_JOBS } from '../../interpreter/pool.js';
import type { PackCompression, PackInvalidation, PackOptions, PackPrecompression, PackProfile, PackSources } from '../../types.js';
import { MAX_GLOB_LENGTH } from '../rules.js';

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
  /** Milliseconds a worker with work may send nothing; undefined: the pool's default for the interpreter. */
  workerTimeout?: number;
  signal?: AbortSignal;
  /** `--prefix` as given (checked absolute, without `..`; normalized), if given. */
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
    throw new PackError('ERR_OPTION', `--${flag} must be one of ${allowed.join(', ')}; got ${shown(value)}.`);
  }
  return value;
}

/**
 * The install prefix inside the WebAssembly file system, normalized (`/usr//local/` →
 * `/usr/local`). The outputs go to `<out>/<prefix>/...` when no package is made, so a
 * `..` segment would put them outside the output directory: refused, like a relative one.
 */
export function checkPrefix(prefix: string, from: string, hint: string): string {
  if (!prefix.startsWith('/')) {
    throw new PackError('ERR_OPTION', `${from} must be an absolute path inside the WebAssembly file system, like /usr/local; got ${shown(prefix)}.`, hint);
  }
  if (prefix.split('/').includes('..')) {
    throw new PackError('ERR_OPTION', `${from} ${shown(prefix)} has a ".." segment: the outputs are written to <out>${prefix.length > 80 ? '/<prefix>' : prefix}/lib/..., and ".." would put them outside the output directory.`, hint);
  }
  return path.posix.normalize(prefix).replace(/\/+$/, '') || '/';
}

/** Flags that name a path: given as '' (an unset shell variable, say) they are refused, never taken as the default or the current directory. */
const PATH_FLAGS = [
  ['out', '--out'],
  ['cacheDir', '--cache-dir'],
  ['lib', '--lib'],
  ['srcdir', '--srcdir'],
  ['builddir', '--builddir'],
  ['sysconfigdata', '--sysconfigdata'],
  ['buildPython', '--build-python'],
  ['prefix', '--prefix'],
  ['add', '--add'],
  ['rules', '--rules'],
] as const;

function checkPaths(input: PackOptions): void {
  for (const [key, flag] of PATH_FLAGS) {
    const value = input[key];
    if (value === '' || (Array.isArray(value) && value.includes(''))) {
      throw new PackError('ERR_OPTION', `${flag} is an empty string; it names no path (an empty path would silently mean the default, or the current directory).`, `Pass a path to ${flag}, or leave the flag out for its default.`);
    }
  }
}

/** The first time no zip entry can hold: DOS dates count the years from 1980 in 7 bits, so 2107-12-31 23:59:59 UTC is the last second. */
export const MAX_ZIP_EPOCH = 4354819199;
/** A timestamp pyc stores the time in 32 bits (PEP 552; importlib's _pack_uint32 wraps it). */
const MAX_PYC_EPOCH = 2 ** 32 - 1;
/** 1980-01-01 00:00:00 UTC, the first time a zip entry can hold. */
const DOS_EPOCH = 315532800;

/**
 * The time of the zip entries (and of timestamp pycs): `sourceDateEpoch`, else the
 * SOURCE_DATE_EPOCH environment variable (empty means unset), else 1980-01-01. A value
 * that is not a non-negative integer fails the run, as the reproducible-builds
 * specification asks (https://reproducible-builds.org/specs/source-date-epoch/), and so
 * does one the zip (or a timestamp pyc) cannot hold, which would wrap to another date.
 * Times before 1980 are written as 1980-01-01 (output/zip.ts), the zip format's first.
 */
function sourceDateEpoch(input: PackOptions, invalidation: PackInvalidation): number {
  let value: number;
  /** The option and its value, as the messages name them. */
  let given: string;
  if (input.sourceDateEpoch !== undefined) {
    value = input.sourceDateEpoch;
    given = `sourceDateEpoch is ${value}`;
    if (!Number.isInteger(value) || value < 0) {
      throw new PackError('ERR_OPTION', `sourceDateEpoch must be a non-negative integer (seconds since 1970-01-01 UTC); got ${shown(value)}.`, 'Pass whole seconds, e.g. the commit time from `git log -1 --format=%ct`.');
    }
  } else {
    const env = process.env.SOURCE_DATE_EPOCH;
    if (env === undefined || env === '') return DOS_EPOCH;
    if (!/^[0-9]+$/.test(env)) {
      throw new PackError('ERR_OPTION', `The environment variable SOURCE_DATE_EPOCH must be a non-negative integer (seconds since 1970-01-01 UTC, like \`date +%s\` prints); got ${shown(env)}.`, 'Set it to whole seconds, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it.');
    }
    value = Number(env);
    given = `The environment variable SOURCE_DATE_EPOCH is ${clip(env)}`;
  }
  if (value > MAX_ZIP_EPOCH) {
    throw new PackError('ERR_OPTION', `${given}, after 2107-12-31 23:59:59 UTC (${MAX_ZIP_EPOCH}), the last time a zip entry can hold; it would wrap around to another date.`, `Use a time up to ${MAX_ZIP_EPOCH}.`);
  }
  if (invalidation === 'timestamp' && value > MAX_PYC_EPOCH) {
    throw new PackError('ERR_OPTION', `${given}, after 2106-02-07 06:28:15 UTC (${MAX_PYC_EPOCH}), the last time a timestamp pyc can hold (32 bits); it would wrap around to another date.`, `Use a time up to ${MAX_PYC_EPOCH}, or --invalidation unchecked-hash.`);
  }
  return value;
}

/** The plain values of `input`, defaults applied; ERR_OPTION for a value that cannot be. */
export function optionValues(input: PackOptions, cwd: string): OptionValues {
  const abs = (p: string) => path.resolve(cwd, p);
  checkPaths(input);
  const level = input.level ?? 9;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new PackError('ERR_OPTION', `--level must be an integer from 0 to 9; got ${shown(input.level)}.`);
  const jobs = input.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) {
    throw new PackError(
      'ERR_OPTION',
      `--jobs must be an integer from 1 to ${MAX_JOBS}; got ${shown(input.jobs)}.`,
      `Leave --jobs out for one worker per core; at most ${JOBS_PER_CORE} per core (${JOBS_PER_CORE * availableParallelism()} here) are started, and never more than there are files to compile.`,
    );
  }
  const envTimeout = process.env.PYWASM_WORKER_TIMEOUT;
  const workerTimeout = input.workerTimeout ?? (envTimeout ? Number(envTimeout) : undefined);
  if (workerTimeout !== undefined && !(Number.isFinite(workerTimeout) && workerTimeout > 0)) {
    const from = input.workerTimeout !== undefined ? 'workerTimeout' : 'PYWASM_WORKER_TIMEOUT';
    throw new PackError('ERR_OPTION', `${from} must be a number of seconds above 0; got ${shown(input.workerTimeout ?? envTimeout)}.`);
  }
  if (input.srcdir && input.lib) throw new PackError('ERR_OPTION', 'Pass either --srcdir or --lib, not both.');
  const prefix = input.prefix === undefined ? undefined : checkPrefix(input.prefix, '--prefix', 'Pass an absolute --prefix without ".." segments, like /usr/local.');
  for (const [flag, globs] of [['--keep', input.keep], ['--omit', input.omit]] as const) {
    const long = (globs ?? []).find((g) => g.length > MAX_GLOB_LENGTH);
    if (long !== undefined) throw new PackError('ERR_OPTION', `${flag} ${shown(long)} is ${long.length} characters long; a glob may have at most ${MAX_GLOB_LENGTH}.`, 'Pass a shorter glob (globs are relative to the stdlib, like json/ or **/tests/).');
  }
  checkPyodideMode(input);
  const profile: PackProfile = input.pyodide !== undefined ? 'pyodide' : oneOf(input.profile, PROFILES, 'profile', 'wasm');
  const sources = oneOf(input.sources, SOURCES, 'sources', 'pyc');
  if (input.debugRanges !== undefined && typeof input.debugRanges !== 'boolean') throw new PackError('ERR_OPTION', `debugRanges must be true or false; got ${shown(input.debugRanges)}.`);
  const invalidation = oneOf(input.invalidation, INVALIDATIONS, 'invalidation', 'unchecked-hash');
  return {
    ...(input.pyodide !== undefined ? { pyodide: abs(input.pyodide) } : {}),
    precompress: precompressions(input.precompress),
    profile,
    optimize: oneOf(input.optimize, [0, 1, 2] as const, 'optimize', 0),
    invalidation,
    sources,
    // The reference's pycs carry them; without the source next to it, no traceback can show them.
    debugRanges: input.debugRanges ?? (profile === 'cpython' || sources !== 'pyc'),
    compression: oneOf<PackCompression | 'auto'>(input.compression, [...COMPRESSIONS], 'compression', 'auto'),
    level,
    jobs,
    ...(workerTimeout !== undefined ? { workerTimeout: Math.round(workerTimeout * 1000) } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
    prefix,
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
    sourceDateEpoch: sourceDateEpoch(input, invalidation),
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
  if (typeof input.pyodide !== 'string' || !input.pyodide) throw new PackError('ERR_OPTION', `--pyodide must name a directory; got ${shown(input.pyodide)}.`);
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
    if (!PRECOMPRESSIONS.includes(v)) throw new PackError('ERR_OPTION', `--precompress takes ${PRECOMPRESSIONS.join(', ')} (comma-separated); got ${shown(v)}.`, 'Pass --precompress br,gz.');
  }
  return PRECOMPRESSIONS.filter((p) => list.includes(p));
}
