/**
 * The plain option values: each checked against what it may be, each default set
 * here. Nothing here depends on the build or the interpreter.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../../cache/cache-dir.js';
import { PackError } from '../../errors.js';
import { JOBS_PER_CORE, MAX_JOBS } from '../../interpreter/pool.js';
import type { PackCompression, PackInvalidation, PackOptions, PackProfile, PackSources } from '../../types.js';

const PROFILES: PackProfile[] = ['cpython', 'wasm'];
const INVALIDATIONS: PackInvalidation[] = ['unchecked-hash', 'checked-hash', 'timestamp'];
const SOURCES: PackSources[] = ['pyc', 'py', 'both'];
const COMPRESSIONS: PackCompression[] = ['deflate', 'stored'];

export interface OptionValues {
  profile: PackProfile;
  optimize: 0 | 1 | 2;
  invalidation: PackInvalidation;
  sources: PackSources;
  /** `auto`: the target decides (see target.ts chooseCompression). */
  compression: PackCompression | 'auto';
  level: number;
  jobs: number;
  /** Milliseconds a worker with work may send nothing; undefined: the pool's default for the interpreter. */
  workerTimeout?: number;
  signal?: AbortSignal;
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
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) {
    throw new PackError(
      'ERR_OPTION',
      `--jobs must be an integer from 1 to ${MAX_JOBS}; got ${input.jobs}.`,
      `Leave --jobs out for one worker per core; at most ${JOBS_PER_CORE} per core (${JOBS_PER_CORE * availableParallelism()} here) are started, and never more than there are files to compile.`,
    );
  }
  const envTimeout = process.env.PYWASM_WORKER_TIMEOUT;
  const workerTimeout = input.workerTimeout ?? (envTimeout ? Number(envTimeout) : undefined);
  if (workerTimeout !== undefined && !(Number.isFinite(workerTimeout) && workerTimeout > 0)) {
    const from = input.workerTimeout !== undefined ? 'workerTimeout' : 'PYWASM_WORKER_TIMEOUT';
    throw new PackError('ERR_OPTION', `${from} must be a number of seconds above 0; got ${JSON.stringify(input.workerTimeout ?? envTimeout)}.`);
  }
  if (input.srcdir && input.lib) throw new PackError('ERR_OPTION', 'Pass either --srcdir or --lib, not both.');
  if (input.prefix !== undefined && !input.prefix.startsWith('/')) {
    throw new PackError('ERR_OPTION', `--prefix must be an absolute path inside the WebAssembly file system, like /usr/local; got ${JSON.stringify(input.prefix)}.`);
  }
  const envEpoch = process.env.SOURCE_DATE_EPOCH;
  return {
    profile: oneOf(input.profile, PROFILES, 'profile', 'wasm'),
    optimize: oneOf(input.optimize, [0, 1, 2] as const, 'optimize', 0),
    invalidation: oneOf(input.invalidation, INVALIDATIONS, 'invalidation', 'unchecked-hash'),
    sources: oneOf(input.sources, SOURCES, 'sources', 'pyc'),
    compression: oneOf<PackCompression | 'auto'>(input.compression, [...COMPRESSIONS], 'compression', 'auto'),
    level,
    jobs,
    ...(workerTimeout !== undefined ? { workerTimeout: Math.round(workerTimeout * 1000) } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
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
