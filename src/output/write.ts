/**
 * Atomic output: every file is written to a temporary sibling first and
 * renamed into place only after all of them were written, so a failed run
 * leaves no partial file behind.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PackError } from '../errors.js';
import type { PackFs } from '../types.js';

export interface OutputFile {
  path: string;
  data: Uint8Array | string;
  /** What the file is (`zip`, `os.py`...), for messages. */
  kind?: string;
}

/** Names an output in messages: `the zip`, `os.py`. */
function what(file: OutputFile): string {
  return file.kind === 'zip' ? 'the zip' : file.kind?.startsWith('package-') ? `the package ${file.kind.slice(8)}` : path.basename(file.path);
}

/**
 * ERR_WRITE before anything is written, when something that is not a file sits
 * where an output goes (a directory is never replaced, nor moved aside), or a
 * file where one of their directories goes.
 */
function checkPlaces(fs: PackFs, files: OutputFile[]): void {
  for (const file of files) {
    let stats;
    try {
      stats = fs.lstatSync(file.path);
    } catch {
      stats = undefined;
    }
    if (stats?.isDirectory()) {
      throw new PackError('ERR_WRITE', `${file.path} is a directory, where ${what(file)} goes; nothing was written.`, 'Remove that directory (or move it away), or pass another --out.');
    }
    if (stats) continue;
    const blocker = fileInTheWay(fs, path.dirname(file.path));
    if (blocker) {
      throw new PackError('ERR_WRITE', `${blocker} is a file, where the directory of ${what(file)} (${file.path}) goes; nothing was written.`, 'Remove that file (or move it away), or pass another --out.');
    }
  }
}

/** The nearest existing ancestor of `dir` (itself included) when it is not a directory. */
function fileInTheWay(fs: PackFs, dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      return fs.statSync(at).isDirectory() ? undefined : at;
    } catch {
      if (path.dirname(at) === at) return undefined;
    }
  }
}

/** Writes every file or none: ERR_WRITE (nothing written, the previous files in place) when any cannot be. */
export function writeFilesAtomic(fs: PackFs, files: OutputFile[]): void {
  checkPlaces(fs, files);
  const suffix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const staged = files.map((file) => ({ final: file.path, tmp: file.path + suffix, backup: file.path + suffix + '.old', data: file.data, backedUp: false, placed: false }));
  let current = files[0]?.path;
  try {
    for (const s of staged) {
      current = s.final;
      fs.mkdirSync(path.dirname(s.final), { recursive: true });
      fs.writeFileSync(s.tmp, s.data);
    }
    // Move earlier outputs aside first, so a failed rename can put them back.
    for (const s of staged) {
      current = s.final;
      if (fs.existsSync(s.final)) {
        // Checked above; a directory that appeared since is still never moved.
        if (fs.lstatSync(s.final).isDirectory()) throw Object.assign(new Error(`${s.final} is a directory`), { code: 'EISDIR' });
        fs.renameSync(s.final, s.backup);
        s.backedUp = true;
      }
      fs.renameSync(s.tmp, s.final);
      s.placed = true;
    }
  } catch (error) {
    for (const s of [...staged].reverse()) {
      bestEffort(() => s.placed && fs.rmSync(s.final, { force: true }));
      bestEffort(() => s.backedUp && fs.renameSync(s.backup, s.final));
      bestEffort(() => fs.rmSync(s.tmp, { force: true }));
    }
    const e = error as NodeJS.ErrnoException;
    throw new PackError('ERR_WRITE', `Cannot write ${current ?? 'the outputs'} (${e.code ?? e.message}).`, 'Check that the output directory is writable and that no directory sits where an output goes (--out).', { cause: error });
  }
  for (const s of staged) bestEffort(() => s.backedUp && fs.rmSync(s.backup, { force: true }));
  // What a killed run (SIGKILL, a power cut) left beside these outputs is of no use now.
  for (const dir of new Set(files.map((f) => path.dirname(f.path)))) {
    const names = new Set(files.filter((f) => path.dirname(f.path) === dir).map((f) => path.basename(f.path)));
    removeStaleTemps(fs, dir, (name) => {
      const m = /^(.+)\.tmp-(\d+)-[0-9a-z]+(?:\.old)?$/.exec(name);
      return m && names.has(m[1]) ? Number(m[2]) : undefined;
    });
  }
}

/** Is process `pid` alive (on this machine)? EPERM: alive, another user's. */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` that `owner(name)` says a process wrote
 * (its pid), when that process is gone: a run killed while writing (SIGKILL) leaves
 * them, and no run would otherwise. A live process's temporaries (a concurrent run)
 * are left alone. Best effort: never throws.
 */
export function removeStaleTemps(fs: PackFs, dir: string, owner: (name: string) => number | undefined): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir) as string[];
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = owner(name);
    if (pid === undefined || !Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    const file = path.join(dir, name);
    try {
      if (!fs.lstatSync(file).isFile()) continue;
      fs.unlinkSync(file);
      removed.push(file);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

/** The pid in a temporary name of writeFileBestEffort (`<name>.<pid>.<8 hex>.tmp`). */
export function bestEffortTempOwner(name: string): number | undefined {
  const m = /\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Writes one file atomically (a temporary sibling, renamed into place), creating
 * its directory; `data` may come in parts, written one after the other (never
 * joined in memory). For caches and hints, which are best effort: answers false on
 * any failure, leaving no temporary file behind, and never throws.
 */
export function writeFileBestEffort(fs: PackFs, file: string, data: Uint8Array | string | Uint8Array[], onError?: (error: NodeJS.ErrnoException) => void): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (Array.isArray(data)) {
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const part of data) for (let done = 0; done < part.length; ) done += fs.writeSync(fd, part, done, part.length - done);
      } finally {
        fs.closeSync(fd);
      }
    } else fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
    return true;
  } catch (error) {
    bestEffort(() => fs.unlinkSync(tmp));
    onError?.(error as NodeJS.ErrnoException);
    return false;
  }
}

/**
 * Why `file` cannot be read or written, after `error` (ENOENT of a missing file is
 * no problem: undefined): something in the way (`<path> is a directory`, `<path> is
 * a file, not a directory`), or the errno code (`<dir> is not writable (EACCES)`).
 */
export function whyUnusable(fs: PackFs, file: string, error: NodeJS.ErrnoException, writing: boolean): string | undefined {
  let stats;
  try {
    stats = fs.lstatSync(file);
  } catch {
    stats = undefined;
  }
  if (stats?.isDirectory()) return `${file} is a directory`;
  const blocker = fileInTheWay(fs, path.dirname(file));
  if (blocker) return `${blocker} is a file, not a directory`;
  if (error.code === 'ENOENT' && !writing) return undefined;
  if (error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS') {
    return writing ? `${path.dirname(file)} is not writable (${error.code})` : `${file} is not readable (${error.code})`;
  }
  return `${file} cannot be ${writing ? 'written' : 'read'} (${error.code ?? error.message})`;
}

function bestEffort(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // the original error matters more
  }
}

/** Is `child` equal to or inside `parent`? Both absolute. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** Is there a file at `file` whose contents are not `data`? */
export function differs(fs: PackFs, file: string, data: string | Uint8Array): boolean {
  let old: Uint8Array;
  try {
    if (!fs.statSync(file).isFile()) return true;
    old = fs.readFileSync(file);
  } catch {
    return false;
  }
  return !Buffer.from(old).equals(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}
