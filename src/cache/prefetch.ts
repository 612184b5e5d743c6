/**
 * The CLI's head start: before it loads its modules (yargs alone takes ~60 ms),
 * `bin/pywasm-assets.js` starts probing the build interpreter the arguments
 * name, so the interpreter's start-up overlaps Node's. Only plain cases are
 * read here (`--build-python X`, or python3 when no build root could name
 * another); anything else just gets no head start. Light on purpose: it must
 * not load what it is meant to overlap.
 */
import { prefetchInterpreter } from '../interpreter/probe.js';

/** The build interpreter a `pywasm-assets <argv>` run will start, when the arguments alone say so. */
export function interpreterOf(argv: string[]): string | undefined {
  let python: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h' || arg === '--version') return undefined;
    // A build root's Makefile may name PYTHON_FOR_BUILD: leave it to the options.
    if (/^--build-?dir(=|$)/i.test(arg)) return undefined;
    const m = /^--(?:build-python|buildPython)(?:=(.*))?$/.exec(arg);
    if (m) {
      python = m[1] ?? argv[i + 1];
      if (python === undefined || python === '' || python.startsWith('-')) return undefined;
    }
  }
  return python ?? 'python3';
}

/** Starts the probe for `argv` (see interpreterOf); pack() takes its answer. */
export function prefetchFor(argv: string[]): void {
  const python = interpreterOf(argv);
  if (python) prefetchInterpreter(python);
}
