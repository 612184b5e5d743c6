/**
 * What the build interpreter answered last time, by executable and working
 * directory, kept in the cache directory, with the interpreter's identity at
 * that time (interpreter-identity.ts) when it has one. An answer whose identity
 * still holds is taken as it is; any other is a hint only: pack() runs on it
 * while the interpreter starts, and keeps that work only if the interpreter then
 * answers the same (magic, version, worker scripts), since those are what the
 * cache keys hold.
 */
import path from 'node:path';
import { writeFileBestEffort } from '../output/write.js';
import { readRegularFile } from '../read-file.js';
import type { InterpreterInfo } from '../interpreter/index.js';
import { workerDigest } from '../interpreter/launch.js';
import { interpreterIdentity } from './interpreter-identity.js';
import type { PackFs } from '../types.js';

export const HINT_FILE = 'interpreter-v2.json';
const FORMAT = 'pywasm-assets interpreter 2';
/** Entries kept (executables × working directories). */
const MAX_ENTRIES = 8;

interface StoredHints {
  format: typeof FORMAT;
  /** `cwd \0 executable` → the answer and the identity it was given by (if known), most recent first. */
  entries: [string, InterpreterInfo, string | null][];
}

/** A last answer, and the interpreter's identity when it gave it (undefined: unknown, so confirm by asking). */
export interface InterpreterHint {
  info: InterpreterInfo;
  identity?: string;
}

const keyOf = (executable: string, cwd: string) => `${cwd}\0${executable}`;

function read(fs: PackFs, cacheDir: string): StoredHints | undefined {
  try {
    // Only a regular file: a FIFO put in the cache directory would block the read for ever.
    const stored = JSON.parse(readRegularFile(fs, path.join(cacheDir, HINT_FILE), Infinity).toString('utf8')) as StoredHints;
    return stored.format === FORMAT && Array.isArray(stored.entries) ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** The last answer of `executable` run in `cwd`, if any. */
export function loadInterpreterHint(fs: PackFs, cacheDir: string, executable: string, cwd: string): InterpreterHint | undefined {
  const entry = read(fs, cacheDir)?.entries.find(([key]) => key === keyOf(executable, cwd));
  const info = entry?.[1];
  if (!(info && typeof info.magic === 'number' && typeof info.version === 'string' && typeof info.workerDigest === 'string')) return undefined;
  return typeof entry[2] === 'string' ? { info, identity: entry[2] } : { info };
}

/** Records `info` (and the identity it was given by) as the answer of its executable in `cwd` (written only when it changed; never throws). */
export function saveInterpreterHint(fs: PackFs, cacheDir: string, info: InterpreterInfo, cwd: string, identity?: string): void {
  const key = keyOf(info.executable, cwd);
  const stored = read(fs, cacheDir);
  const previous = stored?.entries.find(([k]) => k === key);
  if (previous && JSON.stringify(previous[1]) === JSON.stringify(info) && previous[2] === (identity ?? null)) return;
  const entries: StoredHints['entries'] = [[key, info, identity ?? null] as StoredHints['entries'][number], ...(stored?.entries ?? []).filter(([k]) => k !== key)].slice(0, MAX_ENTRIES);
  writeFileBestEffort(fs, path.join(cacheDir, HINT_FILE), JSON.stringify({ format: FORMAT, entries } satisfies StoredHints));
}

/**
 * The last answer of `executable` in `cwd` when it can be taken as it is: it was
 * recorded with an identity, that identity still holds, and the worker scripts are
 * the ones it was given with. Otherwise undefined: the interpreter must be asked.
 */
export function trustedAnswer(hint: InterpreterHint | undefined, executable: string, cwd: string): InterpreterInfo | undefined {
  if (!hint?.identity || hint.info.pyodide !== undefined || hint.info.workerDigest !== workerDigest()) return undefined;
  return interpreterIdentity(executable, cwd, hint.info) === hint.identity ? hint.info : undefined;
}

/**
 * The identity to record with `info`, just given by a probe that started at
 * `probeStarted` (epoch ms); undefined if a file it covers changed too recently to
 * be sure the answer came from what is there now.
 */
export function identityOf(info: InterpreterInfo, cwd: string, probeStarted: number): string | undefined {
  return info.pyodide === undefined ? interpreterIdentity(info.executable, cwd, info, { notBefore: probeStarted }) : undefined;
}
