/**
 * resolveOptions(): every default and every up-front input check lives here, in two
 * phases around the build interpreter's answer:
 * - readInputs(): the plain values (values.ts), the build root and its facts, the
 *   interpreter to ask and the stdlib the options name (inputs.ts); no process starts;
 * - completeOptions(): with the interpreter's answer (its version, its own stdlib),
 *   the rest: the embedded default's facts, the target and what it can load
 *   (target.ts), the output directory, the built-in modules, the version checks.
 * Both throw a PackError before any work starts. cache/warm-start.ts runs the two
 * phases around the probe (and, warm, on the last answer first).
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import { loadBuiltins } from '../../analysis/builtins.js';
import type { BuiltinsData } from '../../analysis/graph.js';
import { defaultCacheDir } from '../../cache/cache-dir.js';
import { PackError } from '../../errors.js';
import { probeInterpreter, type InterpreterInfo } from '../../interpreter/index.js';
import { isInside } from '../../output/write.js';
import type { PackCompression, PackFs, PackInvalidation, PackOptions, PackPrecompression, PackProfile, PackSources, PackTarget, PackWarning } from '../../types.js';
import type { BuildFacts } from '../build-facts/index.js';
import { embeddedFacts } from '../build-facts/descriptions.js';
import type { PyodideDistribution } from '../../pyodide/distribution.js';
import { interpreterOf, interpreterStdlib, isFile, readBuildInputs, readPyodideInputs, stdlibOf, type BuildInputs, type InterpreterInput } from './inputs.js';
import { chooseCompression, choosePackage, chooseTarget } from './target.js';
import { checkPrefix, optionValues, type OptionValues } from './values.js';

export { defaultCacheDir };
export { embeddedFacts, renderSysconfigdata } from '../build-facts/descriptions.js';

export interface ResolvedOptions {
  fs: PackFs;
  cwd: string;
  /** Absolute stdlib root. */
  lib: string;
  /** How the stdlib root was chosen, for messages. */
  libSource: string;
  builddir?: string;
  python: InterpreterInfo;
  /** `3.11` */
  version: string;
  /** `311` */
  versionNodot: string;
  prefix: string;
  target: PackTarget;
  out: string;
  add: string[];
  provides: string[];
  profile: PackProfile;
  keep: string[];
  omit: string[];
  optimize: 0 | 1 | 2;
  invalidation: PackInvalidation;
  debugRanges: boolean;
  allowSyntaxErrors: boolean;
  compression: PackCompression;
  /** Why `compression` is not the default deflate (the target cannot inflate), for the summary. */
  compressionReason?: string;
  level: number;
  sources: PackSources;
  strict: boolean;
  jobs: number;
  /** Milliseconds a worker with work may send nothing; undefined: the pool's default. */
  workerTimeout?: number;
  /** The `signal` option: checked before each stage, and kills the workers when aborted. */
  signal?: AbortSignal;
  cache: boolean;
  cacheDir: string;
  package: string | false;
  inlineMetadata: boolean;
  omittedHints: boolean;
  sourceDateEpoch: number;
  facts: BuildFacts;
  /** The interpreter's own modules for this version (import check, rule patterns): derived from a checkout, else rules/builtins/. */
  builtins: BuiltinsData;
  /** Where `builtins` came from (a source tree or rules/builtins/<version>.json). */
  builtinsSource: string;
  /** True when no input flag was given: the local python3 and its own stdlib. */
  embedded: boolean;
  /** Pyodide mode: the distribution packed (target and profile `pyodide`). */
  pyodide?: PyodideDistribution;
  precompress: PackPrecompression[];
  onProgress?: PackOptions['onProgress'];
}

/** What the options say before the build interpreter answers (phase 1). */
export interface Inputs {
  input: PackOptions;
  fs: PackFs;
  cwd: string;
  values: OptionValues;
  build: BuildInputs;
  python: InterpreterInput;
  /** The stdlib the options name; undefined: the interpreter's own. */
  lib?: string;
  libSource: string;
  /** Where the compile cache and the interpreters' answers live. */
  cacheDir: string;
  embedded: boolean;
  pyodide?: PyodideDistribution;
}

export interface ResolveResult {
  options: ResolvedOptions;
  warnings: PackWarning[];
}

/** Phase 1: the plain values, the build root, the interpreter to ask, the stdlib when named. */
export function readInputs(input: PackOptions): Inputs {
  const fs = input.fs ?? nodeFs;
  const cwd = input.cwd ?? process.cwd();
  const values = optionValues(input, cwd);
  if (values.pyodide) {
    const pyodide = readPyodideInputs(values.pyodide, fs, values.cacheDir);
    const python = interpreterOf(input, pyodide.build, pyodide.dist);
    return { input, fs, cwd, values, build: pyodide.build, python, lib: pyodide.lib, libSource: pyodide.libSource, cacheDir: values.cacheDir, embedded: false, pyodide: pyodide.dist };
  }
  const build = readBuildInputs(input, fs, cwd);
  const python = interpreterOf(input, build);
  const { lib, libSource } = stdlibOf(input, build, fs, cwd);
  const embedded = !build.builddir && !input.srcdir && !input.lib && !build.sysconfigdata;
  return { input, fs, cwd, values, build, python, lib, libSource, cacheDir: values.cacheDir, embedded };
}

/** Phase 2: everything else, with the interpreter's answer. */
export function completeOptions(inputs: Inputs, python: InterpreterInfo): ResolveResult {
  const { input, fs, cwd, values, build } = inputs;
  const warnings = [...build.warnings];
  const version = `${python.versionInfo[0]}.${python.versionInfo[1]}`;
  const makeVersion = build.mvar('VERSION');
  if (makeVersion && makeVersion !== version) {
    throw new PackError('ERR_PYTHON_VERSION', `The build root is Python ${makeVersion} (VERSION in ${build.makefile}) but the build interpreter ${python.executable} is ${python.version}; its .pyc files would not load.`, `Pass --build-python python${makeVersion}.`);
  }
  const { lib, libSource } = inputs.lib ? { lib: inputs.lib, libSource: inputs.libSource } : interpreterStdlib(fs, python.stdlib, python.executable);

  if (inputs.pyodide) checkPyodideVersion(inputs, python, version);
  // Pyodide mounts its stdlib zip at /lib/python3XY.zip: prefix /.
  const makePrefix = inputs.pyodide ? '/' : build.mvar('prefix');
  const prefix = values.prefix ?? (makePrefix === undefined ? '/usr/local' : checkPrefix(makePrefix, `prefix= in ${build.makefile}`, 'Pass --prefix /usr/local (the prefix in the WebAssembly file system), or fix prefix= in the Makefile.'));
  /** What this version's lack of kept data made pywasm-assets guess (one warning says it all). */
  const guessed: string[] = [];
  let facts = build.facts;
  if (!facts) {
    const e = embeddedFacts(version, nodeFs, prefix);
    facts = e.facts;
    if (!e.exact) guessed.push(`the extension modules of a stock Emscripten build, from ${e.from} (no target sysconfigdata is written)`);
  }
  const target = inputs.pyodide ? 'pyodide' : chooseTarget(input.target, facts, !build.facts);
  const { compression, compressionReason } = chooseCompression(values.compression, facts);
  const pkg = inputs.pyodide ? false : choosePackage(input.package, target);

  const out = input.out ? path.resolve(cwd, input.out) : build.builddir ?? path.resolve(cwd, 'dist');
  if (isInside(out, lib)) {
    throw new PackError('ERR_OUT_INSIDE_LIB', `The output directory ${out} is inside the stdlib ${lib}; the outputs would be packed into the next run.`, 'Pass --out <a directory outside the stdlib>.');
  }
  for (const a of values.add) {
    if (!(isFile(fs, a) && a.endsWith('.py')) && !isFile(fs, path.join(a, '__init__.py'))) {
      throw new PackError('ERR_ADD', `--add ${a} is neither a .py file nor a package directory (a directory with __init__.py).`, 'Pass a module file or a package directory.');
    }
  }

  // The source tree beside a checkout's Lib/ says what the interpreter has built in; else the data kept per version.
  const builtins = loadBuiltins(version, path.dirname(lib), fs);
  if (!builtins.exact) guessed.push(`the interpreter's built-in modules, from ${builtins.from}`);
  if (guessed.length) {
    warnings.push({
      code: 'UNKNOWN_VERSION',
      message: `pywasm-assets keeps no data for Python ${version}, so it guessed ${guessed.join('; and ')}; the rules are applied as written for the nearest version. Check the result with --explain, and pass --builddir (or --sysconfigdata) for the real build facts.`,
    });
  }

  return {
    warnings,
    options: {
      fs,
      cwd,
      lib,
      libSource,
      builddir: build.builddir,
      python,
      version,
      versionNodot: version.replace('.', ''),
      prefix,
      target,
      out,
      add: values.add,
      provides: values.provides,
      profile: values.profile,
      keep: values.keep,
      omit: values.omit,
      optimize: values.optimize,
      invalidation: values.invalidation,
      debugRanges: values.debugRanges,
      allowSyntaxErrors: values.allowSyntaxErrors,
      compression,
      ...(compressionReason ? { compressionReason } : {}),
      level: values.level,
      sources: values.sources,
      strict: values.strict,
      jobs: values.jobs,
      ...(values.workerTimeout !== undefined ? { workerTimeout: values.workerTimeout } : {}),
      ...(values.signal ? { signal: values.signal } : {}),
      cache: values.cache,
      cacheDir: values.cacheDir,
      package: pkg,
      inlineMetadata: values.inlineMetadata,
      omittedHints: values.omittedHints,
      sourceDateEpoch: values.sourceDateEpoch,
      facts,
      builtins: builtins.data,
      builtinsSource: builtins.from,
      embedded: inputs.embedded,
      ...(inputs.pyodide ? { pyodide: inputs.pyodide } : {}),
      precompress: values.precompress,
      onProgress: input.onProgress,
    },
  };
}

/**
 * Pyodide mode: the build interpreter must be of the distribution's CPython version
 * (`VERSION` in its sysconfigdata), or its pycs would not load there.
 */
function checkPyodideVersion(inputs: Inputs, python: InterpreterInfo, version: string): void {
  const dist = inputs.pyodide!;
  const stated = String(inputs.build.facts?.sysconfigVars?.get('VERSION') ?? '');
  const runs = dist.python ?? stated;
  if (stated && stated !== version) {
    throw new PackError(
      'ERR_PYTHON_VERSION',
      `Pyodide ${dist.release} runs CPython ${runs}, but the build interpreter ${python.executable} is Python ${python.version}; its .pyc files would not load there.`,
      `Pass --build-python python${stated} (a native CPython ${stated}), or drop --build-python: the distribution then compiles its own stdlib.`,
    );
  }
}

/** Both phases, with the interpreter probed in between (or `python`, when given). */
export async function resolveOptions(input: PackOptions, hooks: { python?: InterpreterInfo } = {}): Promise<ResolveResult> {
  const inputs = readInputs(input);
  if (hooks.python) return completeOptions(inputs, hooks.python);
  let python: InterpreterInfo;
  try {
    python = await probeInterpreter(inputs.python.executable, { cwd: inputs.cwd, cacheDir: inputs.cacheDir });
  } catch (error) {
    throw inputs.python.explain(error);
  }
  return completeOptions(inputs, python);
}
