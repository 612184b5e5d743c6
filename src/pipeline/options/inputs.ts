/**
 * Where the inputs come from, before the build interpreter answers: the build root
 * (pybuilddir.txt → the sysconfigdata; the Makefile), the build facts they hold, the
 * interpreter to ask (flag, else the Makefile's PYTHON_FOR_BUILD, else python3) and
 * the stdlib when the options name it (--lib, --srcdir, or the Makefile's srcdir=).
 */
import path from 'node:path';
import { PackError } from '../../errors.js';
import { InputFileError, readFailure, readRegularFile } from '../../read-file.js';
import type { PackFs, PackOptions, PackWarning } from '../../types.js';
import { readDistribution, stdlibDirectory, type PyodideDistribution } from '../../pyodide/distribution.js';
import { expandMakeVars, pythonForBuild, readBuildFacts, readDistributionFacts, type BuildFacts } from '../build-facts/index.js';

export function isDir(fs: PackFs, p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(fs: PackFs, p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export interface BuildInputs {
  builddir?: string;
  makefile?: string;
  sysconfigdata?: string;
  /** From the Makefile and the sysconfigdata; undefined when neither is given (the embedded default's facts come later). */
  facts?: BuildFacts;
  /** A Makefile variable, expanded; undefined without a Makefile. */
  mvar(name: string): string | undefined;
  warnings: PackWarning[];
}

/** Pyodide mode's inputs: the distribution, its stdlib extracted to a directory, its build facts. */
export interface PyodideInputs {
  dist: PyodideDistribution;
  lib: string;
  libSource: string;
  build: BuildInputs;
}

/**
 * The distribution `dir` names: its python_stdlib.zip extracted below `cacheDir`
 * (once per zip), its sysconfigdata read among the code it holds.
 */
export function readPyodideInputs(dir: string, fs: PackFs, cacheDir: string): PyodideInputs {
  const dist = readDistribution(dir, fs);
  const lib = stdlibDirectory(dist, cacheDir, fs);
  const label = `Pyodide ${dist.release}`;
  const name = fs.readdirSync(lib).map(String).filter((n) => /^_sysconfigdata_.*\.py$/.test(n)).sort()[0];
  if (!name) {
    throw new PackError('ERR_PYODIDE', `${dist.stdlibZip} holds no _sysconfigdata_*.py, so ${label}'s build facts are unknown.`, 'Check that the distribution is intact (reinstall it).');
  }
  const facts = readDistributionFacts(fs, path.join(lib, name), label);
  return { dist, lib, libSource: `${dist.stdlibZip} (${label}'s stdlib)`, build: { facts, mvar: () => undefined, warnings: [] } };
}

/** The interpreter to ask, and how to say where its name came from. */
export interface InterpreterInput {
  executable: string;
  /** `--build-python`, or `PYTHON_FOR_BUILD in <Makefile>`. */
  from: string;
  /** The same error, saying where the name came from when the Makefile gave it. */
  explain(error: unknown): unknown;
}

/** Reads the build root: pybuilddir.txt → the sysconfigdata; the Makefile. */
function readBuildRoot(fs: PackFs, builddir: string): { makefile?: string; sysconfigdata: string } {
  if (!isDir(fs, builddir)) {
    throw new PackError('ERR_BUILDDIR', `No build root at ${builddir}.`, 'Pass --builddir <cpython>/builddir/emscripten-browser (the directory with pybuilddir.txt and Makefile).');
  }
  const marker = path.join(builddir, 'pybuilddir.txt');
  let rel: string;
  try {
    rel = readRegularFile(fs, marker).toString('utf8').trim();
  } catch (error) {
    if (error instanceof InputFileError) throw new PackError('ERR_BUILDDIR', `Cannot read ${marker} (${readFailure(error)}).`, 'Run `make` in the build root, which writes it.', { cause: error });
    throw new PackError('ERR_BUILDDIR', `${builddir} has no pybuilddir.txt, so it is not a configured and built CPython build root.`, 'Run `make` in the build root first, or pass --lib and --sysconfigdata instead.', { cause: error });
  }
  const dir = path.resolve(builddir, rel);
  let names: string[];
  try {
    names = fs.readdirSync(dir).map(String);
  } catch (error) {
    throw new PackError('ERR_BUILDDIR', `pybuilddir.txt in ${builddir} names ${dir}, which cannot be read.`, 'Run `make` in the build root first.', { cause: error });
  }
  const candidates = names.filter((n) => /^_sysconfigdata_.*\.py$/.test(n)).sort();
  const preferred = candidates.filter((n) => /emscripten|wasi/.test(n));
  const chosen = (preferred.length ? preferred : candidates)[0];
  if (!chosen) {
    throw new PackError('ERR_SYSCONFIGDATA', `No _sysconfigdata_*.py in ${dir} (named by ${marker}).`, 'Run `make` in the build root, or pass --sysconfigdata <file>.');
  }
  const makefile = path.join(builddir, 'Makefile');
  return { makefile: isFile(fs, makefile) ? makefile : undefined, sysconfigdata: path.join(dir, chosen) };
}

/** The build root and the sysconfigdata, and the facts they state. */
export function readBuildInputs(input: PackOptions, fs: PackFs, cwd: string): BuildInputs {
  const warnings: PackWarning[] = [];
  const builddir = input.builddir ? path.resolve(cwd, input.builddir) : undefined;
  let makefile: string | undefined;
  let sysconfigdata = input.sysconfigdata ? path.resolve(cwd, input.sysconfigdata) : undefined;
  if (builddir) {
    const root = readBuildRoot(fs, builddir);
    makefile = root.makefile;
    sysconfigdata ??= root.sysconfigdata;
    if (!makefile) warnings.push({ code: 'NO_MAKEFILE', message: `${builddir} has no Makefile; MODDISABLED_NAMES cannot be read, only the sysconfigdata's module states are used.` });
  }
  if (sysconfigdata && !isFile(fs, sysconfigdata)) {
    throw new PackError('ERR_SYSCONFIGDATA', `No sysconfigdata file at ${sysconfigdata}.`, 'Pass --sysconfigdata <build>/build/lib.<platform>/_sysconfigdata_*.py.');
  }
  const facts = makefile || sysconfigdata ? readBuildFacts({ fs, makefilePath: makefile, sysconfigdataPath: sysconfigdata }) : undefined;
  const vars = facts?.makefile;
  const mvar = (name: string) => {
    const v = vars?.get(name);
    return v ? expandMakeVars(v, vars!).trim() : undefined;
  };
  return { builddir, makefile, sysconfigdata, facts, mvar, warnings };
}

/** The build interpreter: the flag, else the Makefile's PYTHON_FOR_BUILD, else python3. */
export function interpreterOf(input: PackOptions, build: BuildInputs, pyodide?: PyodideDistribution): InterpreterInput {
  const plain = (executable: string): InterpreterInput => ({ executable, from: '--build-python', explain: (error) => error });
  if (input.buildPython) return plain(input.buildPython);
  // Pyodide mode: that Pyodide compiles its own stdlib unless a native CPython is given.
  if (pyodide) return { executable: pyodide.dir, from: '--pyodide', explain: (error) => error };
  const fromMake = build.facts?.makefile ? pythonForBuild(build.facts.makefile) : undefined;
  if (!fromMake) return plain('python3');
  const from = `PYTHON_FOR_BUILD in ${build.makefile}`;
  return {
    executable: path.isAbsolute(fromMake) || !fromMake.includes('/') ? fromMake : path.resolve(build.builddir!, fromMake),
    from,
    explain: (error) => (error instanceof PackError ? new PackError(error.code, `${error.message} (taken from ${from})`, error.hint, { cause: error }) : error),
  };
}

/** The stdlib the options name, if they do (else the interpreter's own is packed). */
export function stdlibOf(input: PackOptions, build: BuildInputs, fs: PackFs, cwd: string): { lib?: string; libSource: string } {
  const check = (dir: string, from: string) => {
    if (!isDir(fs, dir)) {
      throw new PackError('ERR_LIB_NOT_FOUND', `No stdlib directory at ${dir} (from ${from}).`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
    }
    return { lib: dir, libSource: from };
  };
  if (input.lib) return check(path.resolve(cwd, input.lib), '--lib');
  if (input.srcdir) return check(path.join(path.resolve(cwd, input.srcdir), 'Lib'), '--srcdir');
  if (build.builddir) {
    const srcdir = build.mvar('srcdir');
    if (!srcdir) {
      throw new PackError('ERR_BUILDDIR', `The Makefile of ${build.builddir} has no srcdir=, so the source tree is unknown.`, 'Pass --srcdir <cpython checkout> or --lib <stdlib dir>.');
    }
    return check(path.join(path.resolve(build.builddir, srcdir), 'Lib'), `srcdir= in ${build.makefile}`);
  }
  return { libSource: '' };
}

/** The interpreter's own stdlib, when the options name none. */
export function interpreterStdlib(fs: PackFs, stdlib: string | undefined, executable: string): { lib: string; libSource: string } {
  const from = `the stdlib of ${executable}`;
  if (!stdlib) throw new PackError('ERR_LIB_NOT_FOUND', 'No stdlib directory given.', 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
  if (!isDir(fs, stdlib)) throw new PackError('ERR_LIB_NOT_FOUND', `No stdlib directory at ${stdlib} (from ${from}).`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
  return { lib: stdlib, libSource: from };
}
