/**
 * resolveOptions(): every default and every up-front input check lives here.
 * It turns PackOptions into a ResolvedOptions where each path is absolute and
 * each choice is made, or throws a PackError before any work starts.
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import { availableParallelism, homedir } from 'node:os';
import { PackError } from '../../errors.js';
import { defaultTarget, expandMakeVars, readBuildFacts, pythonForBuild, type BuildFacts, type ModuleFact } from '../build-facts/index.js';
import { isInside } from '../../output/write.js';
import { loadBuiltins } from '../../analysis/builtins.js';
import { nearestVersion } from '../../versions.js';
import type { BuiltinsData } from '../../analysis/graph.js';
import { probeInterpreter, type InterpreterInfo } from '../../interpreter/index.js';
import type { PackCompression, PackFs, PackInvalidation, PackOptions, PackProfile, PackSources, PackTarget } from '../../types.js';
import { BUILDS_DIR } from '../../package-paths.js';

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
  allowSyntaxErrors: boolean;
  compression: PackCompression;
  /** Why `compression` is not the default deflate (the target cannot inflate), for the summary. */
  compressionReason?: string;
  level: number;
  sources: PackSources;
  strict: boolean;
  jobs: number;
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
  onProgress?: PackOptions['onProgress'];
}

const TARGETS: PackTarget[] = ['emscripten-browser', 'emscripten-node', 'wasi'];
const PROFILES: PackProfile[] = ['cpython', 'wasm'];
const INVALIDATIONS: PackInvalidation[] = ['unchecked-hash', 'checked-hash', 'timestamp'];
const SOURCES: PackSources[] = ['pyc', 'py', 'both'];
const COMPRESSIONS: PackCompression[] = ['deflate', 'stored'];

/** Directory of the built-in build descriptions (rules/builds/). */
export { BUILDS_DIR };

function oneOf<T extends string | number>(value: T | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new PackError('ERR_OPTION', `--${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function isDir(fs: PackFs, p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(fs: PackFs, p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Reads the build root: pybuilddir.txt → the sysconfigdata; the Makefile. */
function readBuildRoot(fs: PackFs, builddir: string): { makefile?: string; sysconfigdata: string } {
  if (!isDir(fs, builddir)) {
    throw new PackError('ERR_BUILDDIR', `No build root at ${builddir}.`, 'Pass --builddir <cpython>/builddir/emscripten-browser (the directory with pybuilddir.txt and Makefile).');
  }
  const marker = path.join(builddir, 'pybuilddir.txt');
  let rel: string;
  try {
    rel = String(fs.readFileSync(marker, 'utf8')).trim();
  } catch (error) {
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

interface BuildDescription {
  modules: Record<string, string>;
  sysconfigdata?: { name: string; vars: Record<string, string | number> };
}

/** A Python str literal, as repr() writes ASCII text. */
function pyRepr(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const body = value.replace(/[\\'\x00-\x1f\x7f-\uffff]/g, (c) =>
    c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `'${body}'`;
}

/** The sysconfigdata module of a build description: `build_time_vars = {...}`, keys sorted. */
export function renderSysconfigdata(description: BuildDescription, prefix: string): string {
  const vars = new Map<string, string | number>();
  for (const [key, value] of Object.entries(description.sysconfigdata?.vars ?? {})) {
    vars.set(key, typeof value === 'string' ? value.replaceAll('{prefix}', prefix === '/' ? '' : prefix) : value);
  }
  for (const [name, state] of Object.entries(description.modules)) vars.set(`MODULE_${name.toUpperCase()}_STATE`, state);
  const lines = [...vars.keys()].sort().map((key) => ` ${pyRepr(key)}: ${pyRepr(vars.get(key)!)},`);
  return `# system configuration of a stock CPython Emscripten build, written by pywasm-assets\n# from its built-in build description (rules/builds/)\nbuild_time_vars = {\n${lines.join('\n')}\n}\n`;
}

/** The built-in description of a stock Emscripten build for `version` (rules/builds/), or of the nearest version kept. */
export function embeddedFacts(version: string, fs: PackFs = nodeFs, prefix = '/usr/local'): { facts: BuildFacts; from: string; exact: boolean } {
  const kept = fs.readdirSync(BUILDS_DIR).map(String).map((n) => /^emscripten-(\d+\.\d+)\.json$/.exec(n)?.[1]).filter((v): v is string => v !== undefined);
  const chosen = nearestVersion(version, kept)!;
  const exact = chosen === version;
  const file = `emscripten-${chosen}.json`;
  const data = JSON.parse(String(fs.readFileSync(path.join(BUILDS_DIR, file), 'utf8'))) as BuildDescription;
  const shown = `rules/builds/${file}`;
  const modules = new Map<string, ModuleFact>();
  for (const [name, state] of Object.entries(data.modules)) {
    modules.set(name, { available: state === 'yes', evidence: `${name} is '${state}' in the built-in description of a stock Emscripten build (${shown})` });
  }
  const facts: BuildFacts = { platform: 'emscripten', modules, source: shown };
  // The same version only: another version's build variables would be wrong for this stdlib.
  if (data.sysconfigdata && exact) {
    facts.sysconfigdataName = data.sysconfigdata.name;
    facts.sysconfigdataPath = `${shown}#sysconfigdata`;
    facts.sysconfigdataSource = new TextEncoder().encode(renderSysconfigdata(data, prefix));
  }
  return { facts, from: shown, exact };
}

/**
 * Where the compile cache lives by default: `node_modules/.cache/pywasm-assets` of the
 * nearest directory with a package.json (the find-cache-dir convention), else the
 * user's cache directory ($XDG_CACHE_HOME or ~/.cache), so that running in, say, a
 * CPython checkout does not create a node_modules/ there.
 */
export function defaultCacheDir(cwd: string): string {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (nodeFs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'node_modules', '.cache', 'pywasm-assets');
    if (path.dirname(dir) === dir) break;
  }
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'pywasm-assets');
}

/**
 * The zip method the target can read. zipimport inflates deflated entries with
 * zlib, so a target without it (a stock WASI build: the WASI SDK ships no zlib)
 * could not even start: its interpreter reads `encodings` from the zip during
 * start-up ("ZipImportError: can't decompress data; zlib not available"). Such a
 * target gets a stored zip by default, and an explicit deflate is refused.
 */
function chooseCompression(flag: PackCompression | 'auto', facts: BuildFacts): { compression: PackCompression; compressionReason?: string } {
  const zlib = facts.modules.get('zlib');
  if (zlib?.available) return { compression: flag === 'auto' ? 'deflate' : flag };
  const evidence = zlib?.evidence ?? `zlib: named by no build fact in ${facts.source || 'the build facts'}, so unavailable`;
  if (flag === 'deflate') {
    throw new PackError(
      'ERR_UNLOADABLE',
      `--compression deflate: the target has no zlib (${evidence}), so its zipimport could not inflate the zip and the interpreter would die at start-up ("can't decompress data; zlib not available").`,
      'Drop --compression (a target without zlib gets a stored zip), or build the target with zlib.',
    );
  }
  return { compression: 'stored', compressionReason: flag === 'auto' ? `stored, because the target has no zlib (${evidence}): its zipimport reads only stored entries without it` : undefined };
}

/** An explicit package name for a WASI target (a WASI runtime has no use for a file_packager package). */
function pkgFlagForWasi(flag: string | false | undefined, target: PackTarget): boolean {
  return target === 'wasi' && typeof flag === 'string';
}

export interface ResolveResult {
  options: ResolvedOptions;
  warnings: { code: string; message: string }[];
}

export interface ResolveHooks {
  /** Called as soon as the stdlib directory is known and exists (before the interpreter answers, when it can be). */
  onLib?: (lib: string) => void;
  /** The build interpreter's answer, when known (no probe is run). */
  python?: InterpreterInfo;
}

export async function resolveOptions(input: PackOptions, hooks: ResolveHooks = {}): Promise<ResolveResult> {
  const fs = input.fs ?? nodeFs;
  const cwd = input.cwd ?? process.cwd();
  const abs = (p: string) => path.resolve(cwd, p);
  const warnings: { code: string; message: string }[] = [];

  const profile = oneOf(input.profile, PROFILES, 'profile', 'wasm');
  const optimize = oneOf(input.optimize, [0, 1, 2] as const, 'optimize', 0);
  const invalidation = oneOf(input.invalidation, INVALIDATIONS, 'invalidation', 'unchecked-hash');
  const sources = oneOf(input.sources, SOURCES, 'sources', 'pyc');
  const compressionFlag = oneOf<PackCompression | 'auto'>(input.compression, [...COMPRESSIONS], 'compression', 'auto');
  const level = input.level ?? 9;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new PackError('ERR_OPTION', `--level must be an integer from 0 to 9; got ${input.level}.`);
  const jobs = input.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw new PackError('ERR_OPTION', `--jobs must be a positive integer; got ${input.jobs}.`);
  if (input.srcdir && input.lib) throw new PackError('ERR_OPTION', 'Pass either --srcdir or --lib, not both.');
  const prefixRaw = input.prefix;
  if (prefixRaw !== undefined && !prefixRaw.startsWith('/')) {
    throw new PackError('ERR_OPTION', `--prefix must be an absolute path inside the WebAssembly file system, like /usr/local; got ${JSON.stringify(prefixRaw)}.`);
  }

  // Build root: pybuilddir.txt → sysconfigdata; Makefile → srcdir, prefix, VERSION, PYTHON_FOR_BUILD.
  const builddir = input.builddir ? abs(input.builddir) : undefined;
  let makefile: string | undefined;
  let sysconfigdata = input.sysconfigdata ? abs(input.sysconfigdata) : undefined;
  if (builddir) {
    const root = readBuildRoot(fs, builddir);
    makefile = root.makefile;
    sysconfigdata ??= root.sysconfigdata;
    if (!makefile) warnings.push({ code: 'NO_MAKEFILE', message: `${builddir} has no Makefile; MODDISABLED_NAMES cannot be read, only the sysconfigdata's module states are used.` });
  }
  if (sysconfigdata && !isFile(fs, sysconfigdata)) {
    throw new PackError('ERR_SYSCONFIGDATA', `No sysconfigdata file at ${sysconfigdata}.`, 'Pass --sysconfigdata <build>/build/lib.<platform>/_sysconfigdata_*.py.');
  }
  const embedded = !builddir && !input.srcdir && !input.lib && !sysconfigdata;
  let facts = makefile || sysconfigdata ? readBuildFacts({ fs, makefilePath: makefile, sysconfigdataPath: sysconfigdata }) : undefined;
  const mvars = facts?.makefile;
  const mvar = (name: string) => {
    const v = mvars?.get(name);
    return v ? expandMakeVars(v, mvars!).trim() : undefined;
  };

  // The build interpreter: flag, else the Makefile's PYTHON_FOR_BUILD, else python3.
  let pythonExe = input.buildPython;
  let pythonFrom = '--build-python';
  if (!pythonExe && mvars) {
    const fromMake = pythonForBuild(mvars);
    if (fromMake) {
      pythonExe = path.isAbsolute(fromMake) || !fromMake.includes('/') ? fromMake : path.resolve(builddir!, fromMake);
      pythonFrom = `PYTHON_FOR_BUILD in ${makefile}`;
    }
  }
  pythonExe ??= 'python3';
  // The probe runs while the stdlib is located (and, through onLib, walked).
  const probing = (hooks.python ? Promise.resolve(hooks.python) : probeInterpreter(pythonExe, { cwd })).catch((error) => {
    if (error instanceof PackError && pythonFrom !== '--build-python') {
      throw new PackError(error.code, `${error.message} (taken from ${pythonFrom})`, error.hint, { cause: error });
    }
    throw error;
  });
  probing.catch(() => {}); // awaited below; an input error thrown first must not leave it unhandled

  // The stdlib.
  const checkLib = (dir: string, from: string) => {
    if (!isDir(fs, dir)) {
      throw new PackError('ERR_LIB_NOT_FOUND', `No stdlib directory at ${dir} (from ${from}).`, 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
    }
    hooks.onLib?.(dir);
    return dir;
  };
  let lib: string | undefined;
  let libSource = '';
  if (input.lib) {
    libSource = '--lib';
    lib = checkLib(abs(input.lib), libSource);
  } else if (input.srcdir) {
    libSource = '--srcdir';
    lib = checkLib(path.join(abs(input.srcdir), 'Lib'), libSource);
  } else if (builddir) {
    const srcdir = mvar('srcdir');
    if (!srcdir) {
      throw new PackError('ERR_BUILDDIR', `The Makefile of ${builddir} has no srcdir=, so the source tree is unknown.`, 'Pass --srcdir <cpython checkout> or --lib <stdlib dir>.');
    }
    libSource = `srcdir= in ${makefile}`;
    lib = checkLib(path.join(path.resolve(builddir, srcdir), 'Lib'), libSource);
  }

  const python = await probing;
  const version = `${python.versionInfo[0]}.${python.versionInfo[1]}`;
  const makeVersion = mvar('VERSION');
  if (makeVersion && makeVersion !== version) {
    throw new PackError('ERR_PYTHON_VERSION', `The build root is Python ${makeVersion} (VERSION in ${makefile}) but the build interpreter ${python.executable} is ${python.version}; its .pyc files would not load.`, `Pass --build-python python${makeVersion}.`);
  }
  if (!lib) {
    if (!python.stdlib) throw new PackError('ERR_LIB_NOT_FOUND', 'No stdlib directory given.', 'Pass --lib <cpython>/Lib, --srcdir <cpython> or --builddir <build root>.');
    libSource = `the stdlib of ${python.executable}`;
    lib = checkLib(python.stdlib, libSource);
  }

  const prefix = prefixRaw ?? mvar('prefix') ?? '/usr/local';
  /** What this version's lack of kept data made pywasm-assets guess (one warning says it all). */
  const guessed: string[] = [];
  if (!facts) {
    const e = embeddedFacts(version, nodeFs, prefix);
    facts = e.facts;
    if (!e.exact) guessed.push(`the extension modules of a stock Emscripten build, from ${e.from} (no target sysconfigdata is written)`);
  }
  const platformTargets: Record<string, PackTarget[]> = { emscripten: ['emscripten-browser', 'emscripten-node'], wasi: ['wasi'] };
  const target = oneOf(input.target, TARGETS, 'target', defaultTarget(facts).target);
  if (!input.sysconfigdata && !builddir && target === 'wasi') {
    // The built-in description is of an Emscripten build: no sysconfigdata of it for WASI.
    facts.sysconfigdataName = facts.sysconfigdataPath = facts.sysconfigdataSource = undefined;
  }
  if (facts.sysconfigdataName && !platformTargets[facts.platform].includes(target)) {
    throw new PackError('ERR_OPTION', `--target ${target} does not match the sysconfigdata ${facts.sysconfigdataName}, which is for ${facts.platform}.`, `Use --target ${defaultTarget(facts).target}.`);
  }
  if (target === 'wasi') facts.platform = 'wasi';

  const { compression, compressionReason } = chooseCompression(compressionFlag, facts);
  if (pkgFlagForWasi(input.package, target)) {
    throw new PackError('ERR_OPTION', `--package ${input.package}: a file_packager package is for Emscripten programs; a WASI runtime reads the files from the directory it maps (--target wasi).`, 'Drop --package, and map the output directory into the runtime (e.g. node:wasi preopens { "/": <out> }).');
  }
  if (!prefix.startsWith('/')) throw new PackError('ERR_OPTION', `prefix= in ${makefile} must be absolute; got ${JSON.stringify(prefix)}.`, 'Pass --prefix /usr/local.');
  const out = input.out ? abs(input.out) : builddir ?? abs('dist');
  if (isInside(out, lib)) {
    throw new PackError('ERR_OUT_INSIDE_LIB', `The output directory ${out} is inside the stdlib ${lib}; the outputs would be packed into the next run.`, 'Pass --out <a directory outside the stdlib>.');
  }

  const add = (input.add ?? []).map(abs);
  for (const a of add) {
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

  const envEpoch = process.env.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = input.sourceDateEpoch ?? (envEpoch && /^\d+$/.test(envEpoch) ? Number(envEpoch) : 315532800);
  const pkg = input.package === undefined ? (target === 'emscripten-browser' ? 'python-stdlib' : false) : input.package;
  if (pkg !== false && !/^[A-Za-z0-9._-]+$/.test(pkg)) throw new PackError('ERR_OPTION', `--package must be a plain file name; got ${JSON.stringify(pkg)}.`);

  return {
    warnings,
    options: {
      fs,
      cwd,
      lib,
      libSource,
      builddir,
      python,
      version,
      versionNodot: version.replace('.', ''),
      prefix: prefix.replace(/\/+$/, '') || '/',
      target,
      out,
      add,
      provides: input.provides ?? [],
      profile,
      keep: input.keep ?? [],
      omit: input.omit ?? [],
      optimize,
      invalidation,
      allowSyntaxErrors: input.allowSyntaxErrors ?? false,
      compression,
      ...(compressionReason ? { compressionReason } : {}),
      level,
      sources,
      strict: input.strict ?? false,
      jobs,
      cache: input.cache ?? true,
      cacheDir: input.cacheDir ? abs(input.cacheDir) : defaultCacheDir(cwd),
      package: pkg,
      inlineMetadata: input.inlineMetadata ?? false,
      omittedHints: input.omittedHints ?? false,
      sourceDateEpoch,
      facts,
      builtins: builtins.data,
      builtinsSource: builtins.from,
      embedded,
      onProgress: input.onProgress,
    },
  };
}
