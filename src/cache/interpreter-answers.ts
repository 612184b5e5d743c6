/**
 * What the build interpreter answered last time, by executable and working
 * directory, kept in the cache directory. A hint only: pack() looks up the
 * compile cache with it while the interpreter starts, and keeps that work only
 * if the interpreter then answers the same (magic, version, worker scripts),
 * since those are what the cache keys hold.
 */
import path from 'node:path';
import { writeFileBestEffort } from '../output/write.js';
import { readRegularFile } from '../read-file.js';
import type { InterpreterInfo } from '../interpreter/index.js';
import type { PackFs } from '../types.js';

export const HINT_FILE = 'interpreter-v1.json';
const FORMAT = 'pywasm-assets interpreter 1';
/** Entries kept (executables × working directories). */
const MAX_ENTRIES = 8;

interface StoredHints {
  format: typeof FORMAT;
  /** `cwd \0 executable` → the answer, most recent first. */
  entries: [string, InterpreterInfo][];
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
export function loadInterpreterHint(fs: PackFs, cacheDir: string, executable: string, cwd: string): InterpreterInfo | undefined {
  const entry = read(fs, cacheDir)?.entries.find(([key]) => key === keyOf(executable, cwd));
  const info = entry?.[1];
  return info && typeof info.magic === 'number' && typeof info.version === 'string' && typeof info.workerDigest === 'string' ? info : undefined;
}

/** Records `info` as the answer of its executable in `cwd` (written only when it changed; never throws). */
export function saveInterpreterHint(fs: PackFs, cacheDir: string, info: InterpreterInfo, cwd: string): void {
  const key = keyOf(info.executable, cwd);
  const stored = read(fs, cacheDir);
  const previous = stored?.entries.find(([k]) => k === key)?.[1];
  if (previous && JSON.stringify(previous) === JSON.stringify(info)) return;
  const entries: [string, InterpreterInfo][] = [[key, info] as [string, InterpreterInfo], ...(stored?.entries ?? []).filter(([k]) => k !== key)].slice(0, MAX_ENTRIES);
  writeFileBestEffort(fs, path.join(cacheDir, HINT_FILE), JSON.stringify({ format: FORMAT, entries } satisfies StoredHints));
}
