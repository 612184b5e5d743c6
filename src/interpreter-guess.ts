/**
 * Asking the build interpreter who it is costs a process start (~105 ms through
 * a pyenv shim, more than the rest of a warm pack). The last answer for the same
 * command, working directory and environment is kept in the cache directory and
 * used at once, while the real probe runs beside the pack; before anything is
 * written the two are compared, and a stale guess makes pack() start over with
 * the real answer. The guess is never trusted: it only lets work start early.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { InterpreterInfo } from './python.js';
import type { PackFs } from './types.js';

/** Thrown when the guessed interpreter is not the one the probe found; pack() retries without a guess. */
export class StaleInterpreterGuess extends Error {
  override name = 'StaleInterpreterGuess';
}

/** Environment that changes what a command name such as `python3` runs. */
const ENV = ['PATH', 'PYENV_VERSION', 'PYENV_ROOT', 'PYENV_DIR', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'PYTHONHOME'];

/** Fields that must agree (cwd is ours, not the interpreter's). */
const FIELDS: (keyof InterpreterInfo)[] = ['executable', 'resolved', 'version', 'magic', 'magicHex', 'implementation', 'cacheTag', 'workerDigest', 'stdlib'];

export function guessFile(cacheDir: string, executable: string, cwd: string): string {
  const key = createHash('sha256')
    .update(JSON.stringify([executable, cwd, ...ENV.map((name) => process.env[name] ?? null)]))
    .digest('hex');
  return path.join(cacheDir, 'interpreters', `${key}.json`);
}

export function readGuess(fs: PackFs, file: string): InterpreterInfo | undefined {
  try {
    const info = JSON.parse(String(fs.readFileSync(file, 'utf8'))) as InterpreterInfo;
    return typeof info?.magic === 'number' && Array.isArray(info.versionInfo) && typeof info.resolved === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the probe's answer for the next run; a failure to write only costs that run the wait. */
export function writeGuess(fs: PackFs, file: string, info: InterpreterInfo): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(info));
    fs.renameSync(tmp, file);
  } catch {
    // read-only cache directory: nothing to do
  }
}

export function sameInterpreter(a: InterpreterInfo, b: InterpreterInfo): boolean {
  return FIELDS.every((field) => JSON.stringify(a[field]) === JSON.stringify(b[field])) && a.versionInfo.join('.') === b.versionInfo.join('.');
}
