/**
 * Reading an input file without hanging or filling memory: only regular files
 * are read. A FIFO would block the read until something writes to it (forever),
 * a character device such as /dev/zero never ends, and `readFileSync` reads
 * either into a buffer that grows until the process dies. The file is opened
 * non-blocking (opening a FIFO does not wait for a writer) and checked with
 * fstat on the open descriptor, so what is read is what was checked.
 */
import nodeFs from 'node:fs';
import { PackError } from './errors.js';
import type { PackFs } from './types.js';

/** The most a source (or any other input file) may hold: far above any stdlib module (the largest is under 1 MiB). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Why a file was not read: it is no regular file, or larger than the limit. */
export class InputFileError extends Error {
  override name = 'InputFileError';
  constructor(
    /** `ENOTREG` (not a regular file) or `EFBIG` (over the limit), like an errno code. */
    readonly code: 'ENOTREG' | 'EFBIG',
    /** What it is, for messages: `a FIFO, not a regular file`, `larger than 64 MiB`. */
    readonly reason: string,
    readonly path: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** `a FIFO`, `a character device` ...: what a non-regular file is, from its stat or directory entry; `unknown` when none says. */
export function fileKind(stat: Pick<nodeFs.Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>, unknown = 'not a regular file'): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return unknown;
}

const notRegular = (file: string, stat: nodeFs.Stats) => new InputFileError('ENOTREG', `${fileKind(stat)}, not a regular file`, file);

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/**
 * `file` opened for reading (symbolic links followed, non-blocking) and its fstat, if it
 * is a regular file; else throws an InputFileError (or the errno error of open). The
 * caller closes the descriptor.
 */
function openRegularFile(fs: PackFs, file: string): { fd: number; stat: nodeFs.Stats } {
  const constants = fs.constants ?? nodeFs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    // A socket cannot be opened at all (ENXIO): say what it is rather than the errno.
    let stat: nodeFs.Stats | undefined;
    try {
      stat = fs.statSync(file);
    } catch {
      // the open's error says it
    }
    if (stat && !stat.isFile()) throw notRegular(file, stat);
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notRegular(file, stat);
    return { fd, stat };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/**
 * The bytes of `file` (symbolic links followed), if it is a regular file of at most `limit`
 * bytes; else throws an InputFileError (or the errno error of open/read).
 */
export function readRegularFile(fs: PackFs, file: string, limit = MAX_INPUT_BYTES): Buffer {
  const { fd, stat } = openRegularFile(fs, file);
  try {
    const tooBig = () => new InputFileError('EFBIG', `larger than ${mib(limit)}, the most an input file may hold`, file);
    if (stat.size > limit) throw tooBig();
    // Read to the end, not just `size` bytes (a file may grow while read), but never past the
    // limit; a read shorter than asked for is the end (of a regular file).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stat.size - total, 0) + 1, limit - total + 1, 1 << 24) || 1);
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      total += n;
      if (total > limit) throw tooBig();
      if (n > 0) chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n < chunk.length) break;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** The first `bytes` bytes of `file` (fewer if it is shorter), under readRegularFile's rules on what is read. */
export function readFileHead(fs: PackFs, file: string, bytes: number): Buffer {
  const { fd } = openRegularFile(fs, file);
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, bytes, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** The reason to show for a failed read: the errno code (`EACCES`), or what the file is (`a FIFO, not a regular file`). */
export function readFailure(error: unknown): string {
  if (error instanceof InputFileError) return error.reason;
  return (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);
}

/** readRegularFile for a file the run cannot do without: a failure is ERR_FILE_UNREADABLE saying why, with `hint`. */
export function readInputFile(fs: PackFs, file: string, hint: string): Buffer {
  try {
    return readRegularFile(fs, file);
  } catch (error) {
    throw new PackError('ERR_FILE_UNREADABLE', `Cannot read ${file} (${readFailure(error)}).`, hint, { cause: error });
  }
}
