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
