/**
 * Bytecode magic numbers: which Python a magic number belongs to, how a
 * stdlib's sources state theirs, and the check that the build interpreter's
 * pycs would load in the stdlib's Python.
 */
import { PackError } from '../errors.js';
import type { InterpreterInfo } from './probe.js';

/**
 * Final bytecode magic number of each CPython release, from the table in
 * CPython's Lib/importlib/_bootstrap_external.py (3.12 and earlier) and
 * Include/internal/pycore_magic_number.h (3.13+). Since 3.11 release 3.n starts
 * at 2900 + 50n; the ranges below map pre-release numbers too.
 */
const MAGIC_RANGES: Array<{ version: string; first: number; last: number; final: number }> = [
  { version: '3.8', first: 3400, last: 3419, final: 3413 },
  { version: '3.9', first: 3420, last: 3429, final: 3425 },
  { version: '3.10', first: 3430, last: 3449, final: 3439 },
  { version: '3.11', first: 3450, last: 3499, final: 3495 },
  { version: '3.12', first: 3500, last: 3549, final: 3531 },
  { version: '3.13', first: 3550, last: 3599, final: 3571 },
  { version: '3.14', first: 3600, last: 3649, final: 3627 },
];

/** The Python minor version a magic number belongs to, e.g. 3439 → `3.10`. */
export function pythonVersionForMagic(magic: number): string | undefined {
  return MAGIC_RANGES.find((r) => magic >= r.first && magic <= r.last)?.version;
}

/**
 * Reads the bytecode magic number from the source of a stdlib's
 * `importlib/_bootstrap_external.py`, which states it as
 * `MAGIC_NUMBER = (3495).to_bytes(2, 'little') + b'\r\n'` up to 3.13.
 * Returns undefined when the file does not state it (3.14 moved the number to
 * Include/internal/pycore_magic_number.h and reads it from `_imp`).
 */
export function readMagicFromLib(source: string): number | undefined {
  const match = /^MAGIC_NUMBER\s*=\s*\(\s*(\d+)\s*\)\s*\.to_bytes\(\s*2\s*,\s*['"]little['"]\s*\)/m.exec(source);
  return match ? Number(match[1]) : undefined;
}

/**
 * Throws ERR_PYTHON_VERSION when the build interpreter's pycs would not load in
 * the stdlib's Python (their magic numbers differ). `libMagic` undefined = unknown: no check.
 */
export function checkMagic(info: InterpreterInfo, libMagic: number | undefined, libPath: string): void {
  if (libMagic === undefined || libMagic === info.magic) return;
  const libVersion = pythonVersionForMagic(libMagic);
  const wanted = libVersion ? `Python ${libVersion}` : 'an unknown Python version';
  throw new PackError(
    'ERR_PYTHON_VERSION',
    `${info.executable} (${info.version}, magic ${info.magic}) cannot compile for Lib/ at ${libPath} ` +
      `(magic ${libMagic} = ${wanted}); its .pyc files would not load.`,
    libVersion ? `pass --build-python <path to python${libVersion}> (or a Pyodide of CPython ${libVersion})` : 'pass --build-python <a CPython of the stdlib\'s version>',
  );
}
