/**
 * The one error class the library throws. `code` is stable (tests and callers
 * branch on it); `message` says what failed and where; `hint` says what to do.
 */
export type PackErrorCode =
  | 'ERR_LIB_NOT_FOUND'
  | 'ERR_LIB_EMPTY'
  | 'ERR_NO_OS_PY'
  | 'ERR_BUILDDIR'
  | 'ERR_SYSCONFIGDATA'
  | 'ERR_MODULE_STATE'
  | 'ERR_MAKEFILE'
  | 'ERR_PYTHON_NOT_FOUND'
  | 'ERR_PYTHON_VERSION'
  | 'ERR_PYTHON_WORKER'
  | 'ERR_RULE_INVALID'
  | 'ERR_FILE_UNREADABLE'
  | 'ERR_SYNTAX'
  | 'ERR_OUT_INSIDE_LIB'
  | 'ERR_OPTION'
  | 'ERR_ADD'
  | 'ERR_STRICT'
  | 'ERR_WRITE'
  | 'ERR_PACKAGE'
  | 'ERR_UNLOADABLE'
  | 'ERR_PYODIDE'
  | 'ERR_INTERRUPTED';

export class PackError extends Error {
  override name = 'PackError';
  constructor(
    readonly code: PackErrorCode,
    message: string,
    readonly hint?: string,
    options?: ErrorOptions & { details?: string[] },
  ) {
    super(message, options);
    this.details = options?.details;
  }
  /** Per-item lines (e.g. one `file:line: message` per syntax error). */
  readonly details?: string[];
}

/** How much of a value a message echoes (a value can be a megabyte of a rule file or argument). */
export const CLIP_CHARACTERS = 200;

/**
 * `text`, cut to `max` characters with a note of how many more there were: every
 * message that echoes user input passes the input through this.
 *
 * @example
 * clip(JSON.stringify('x'.repeat(1000))) // '"xxx…xx… (802 more characters)'
 */
export function clip(text: string, max = CLIP_CHARACTERS): string {
  if (text.length <= max) return text;
  // Not between the two halves of a surrogate pair.
  const cut = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
}

/** A user-given value as JSON (strings quoted), clipped. */
export function shown(value: unknown, max = CLIP_CHARACTERS): string {
  return clip(JSON.stringify(value) ?? String(value), max);
}

/**
 * ERR_INTERRUPTED for an aborted `signal` (the `signal` option): `cause` is the
 * error the abort made (a killed worker's), if any.
 */
export function interrupted(signal: AbortSignal, cause?: unknown): PackError {
  const by = typeof signal.reason === 'string' ? ` by ${signal.reason}` : '';
  return new PackError('ERR_INTERRUPTED', `Interrupted${by}: nothing was written, and the previous outputs are as they were.`, undefined, cause === undefined ? undefined : { cause });
}

/** Throws ERR_INTERRUPTED when `signal` is aborted. */
export function checkInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted(signal);
}
