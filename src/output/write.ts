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
}

export function writeFilesAtomic(fs: PackFs, files: OutputFile[]): void {
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
}

/**
 * Writes one file atomically (a temporary sibling, renamed into place), creating
 * its directory. For caches and hints, which are best effort: answers false on
 * any failure, leaving no temporary file behind, and never throws.
 */
export function writeFileBestEffort(fs: PackFs, file: string, data: Uint8Array | string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
    return true;
  } catch {
    bestEffort(() => fs.unlinkSync(tmp));
    return false;
  }
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
