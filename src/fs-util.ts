/**
 * Atomic output: every file is written to a temporary sibling first and
 * renamed into place only after all of them were written, so a failed run
 * leaves no partial file behind.
 */
import path from 'node:path';
import { PackError } from './errors.js';
import type { PackFs } from './types.js';

export interface OutputFile {
  path: string;
  data: Uint8Array | string;
}

export function writeFilesAtomic(fs: PackFs, files: OutputFile[]): void {
  const staged: [string, string][] = [];
  const suffix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    for (const file of files) {
      fs.mkdirSync(path.dirname(file.path), { recursive: true });
      const tmp = file.path + suffix;
      staged.push([tmp, file.path]);
      fs.writeFileSync(tmp, file.data);
    }
    for (const [tmp, final] of staged) fs.renameSync(tmp, final);
  } catch (error) {
    for (const [tmp] of staged) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // best effort: the original error matters more
      }
    }
    const e = error as NodeJS.ErrnoException;
    throw new PackError('ERR_WRITE', `Cannot write ${e.path ?? 'the outputs'} (${e.code ?? e.message}).`, 'Check that the output directory is writable (--out).', { cause: error });
  }
}

/** Is `child` equal to or inside `parent`? Both absolute. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
