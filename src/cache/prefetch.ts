/**
 * The CLI's head start: before it loads its modules (yargs alone takes ~60 ms),
 * `bin/pywasm-assets.js` starts probing the build interpreter the arguments
 * name, so the interpreter's start-up overlaps Node's. Only plain cases are
 * read here (`--build-python X`, or python3 when no build root could name
 * another); anything else just gets no head start. Light on purpose: it must
 * not load what it is meant to overlap. Nor does it start an interpreter whose last
 * answer pack() will take as it is (its identity unchanged: interpreter-identity.ts).
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import { prefetchInterpreter } from '../interpreter/probe.js';
import { defaultCacheDir } from './cache-dir.js';
import { loadInterpreterHint, trustedAnswer } from './interpreter-answers.js';

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

/** The cache directory a `pywasm-assets <argv>` run uses, or undefined with --no-cache. */
export function cacheDirOf(argv: string[], cwd: string): string | undefined {
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-cache' || arg === '--cache=false') return undefined;
    const m = /^--cache-?[dD]ir(?:=(.*))?$/.exec(arg);
    if (m) dir = m[1] ?? argv[i + 1];
  }
  return dir ? path.resolve(cwd, dir) : defaultCacheDir(cwd);
}

/** Starts the probe for `argv` (see interpreterOf) unless its last answer will be trusted; pack() takes its answer. */
export function prefetchFor(argv: string[]): void {
  const python = interpreterOf(argv);
  if (!python) return;
  const cwd = process.cwd();
  const cacheDir = cacheDirOf(argv, cwd);
  if (cacheDir && trustedAnswer(loadInterpreterHint(nodeFs, cacheDir, python, cwd), python, cwd)) return;
  prefetchInterpreter(python);
}
