/**
 * Public types of pywasm-assets. Every path in a result is POSIX and, unless
 * the field says otherwise, relative to the stdlib root (`Lib/`).
 */

/** The runtime the bundle is for (`pyodide`: a drop-in python_stdlib.zip, see PackOptions.pyodide). */
export type PackTarget = 'emscripten-browser' | 'emscripten-node' | 'wasi' | 'pyodide';
/**
 * `cpython` reproduces `Tools/wasm/wasm_assets.py`; `wasm` is ours; `pyodide` (the
 * Pyodide mode's) keeps what the Pyodide distribution ships, which it trimmed already.
 */
export type PackProfile = 'cpython' | 'wasm' | 'pyodide';
/** PEP 552 invalidation mode of the written pycs. */
export type PackInvalidation = 'unchecked-hash' | 'checked-hash' | 'timestamp';
/** What the zip holds for each module. */
export type PackSources = 'pyc' | 'py' | 'both';
export type PackCompression = 'deflate' | 'stored';
/** A precompressed copy for servers that serve `NAME.br` / `NAME.gz` (Brotli at quality 11, gzip -9). */
export type PackPrecompression = 'br' | 'gz';

/** Minimal node:fs surface the library uses; memfs' `fs` satisfies it. */
export type PackFs = typeof import('node:fs');

export interface PackOptions {
  /**
   * Pyodide mode: an installed Pyodide distribution (the npm package `pyodide`, 0.25 to 314).
   * Its python_stdlib.zip (sources) is the stdlib, its sysconfigdata the build facts, and
   * the output a drop-in precompiled `python_stdlib.zip` for `loadPyodide({ stdLibURL })`.
   * The build interpreter defaults to that Pyodide itself. Excludes builddir, srcdir, lib,
   * sysconfigdata, prefix and package.
   */
  pyodide?: string;
  /** A CPython build root (reads `pybuilddir.txt`, the sysconfigdata, `Makefile`). */
  builddir?: string;
  /** A CPython source checkout; its `Lib/` is packed. */
  srcdir?: string;
  /** A stdlib directory: a source `Lib/` or an installed `lib/python3.X`. */
  lib?: string;
  /** The target's `_sysconfigdata_*.py`. */
  sysconfigdata?: string;
  /**
   * The build interpreter: a CPython of the target's version.
   * @default `PYTHON_FOR_BUILD` from the Makefile, else `python3`
   */
  buildPython?: string;
  /** @default '/usr/local' */
  prefix?: string;
  /** @default from the sysconfigdata name (Emscripten → emscripten-browser) */
  target?: PackTarget;
  /** @default the build root with `builddir`, else `./dist` */
  out?: string;
  /** Extra modules or package directories placed at the zip root; never omitted. */
  add?: string[];
  /**
   * Modules the runtime provides itself, beyond CPython's built-ins and the build's
   * extension modules (e.g. Pyodide's `js` and `_pyodide_core`): the import check counts them as available.
   */
  provides?: string[];
  /** @default 'wasm' */
  profile?: PackProfile;
  /** Extra rule files, applied after the profile's. */
  rules?: string[];
  /** Globs (relative to the stdlib) that are kept whatever the rules say. */
  keep?: string[];
  /** Globs (relative to the stdlib) that are omitted (unless `keep` matches). */
  omit?: string[];
  /** @default 0 */
  optimize?: 0 | 1 | 2;
  /** @default 'unchecked-hash' */
  invalidation?: PackInvalidation;
  /**
   * Column ranges (PEP 657) in the pycs: what a traceback needs to underline the failing
   * part of a source line. A bundle of pycs alone shows no source lines, so they are
   * dropped there (`-X no_debug_ranges`): a quarter less to download after Brotli.
   * @default true with `sources` py or both and for profile cpython, else false
   */
  debugRanges?: boolean;
  /** Ship sources that fail to compile as `.py` instead of failing. @default false */
  allowSyntaxErrors?: boolean;
  /**
   * Zip method. A target without zlib cannot read deflated entries: it gets `stored`, and
   * an explicit `deflate` for it is an error (ERR_UNLOADABLE).
   * @default 'deflate', or 'stored' when the build facts say the target has no zlib
   */
  compression?: PackCompression;
  /** Also write `NAME.br` / `NAME.gz` beside the zip and the package's `.data`. @default [] */
  precompress?: PackPrecompression[];
  /** Deflate level 0-9. @default 9 */
  level?: number;
  /** @default 'pyc' */
  sources?: PackSources;
  /** Fail when any warning or import-closure violation is reported. @default false */
  strict?: boolean;
  /**
   * Build-interpreter workers: an integer from 1 to 256. At most 4 per core are
   * started, and never more than there are files to compile.
   * @default os.availableParallelism()
   */
  jobs?: number;
  /**
   * Seconds a build-interpreter worker that has work may send nothing before it is
   * taken as stuck (ERR_PYTHON_WORKER; it is killed with every process it started).
   * Measures progress, not the whole compile.
   * @default PYWASM_WORKER_TIMEOUT, else 60 (300 for a Pyodide)
   */
  workerTimeout?: number;
  /** Use the content-addressed cache. @default true */
  cache?: boolean;
  /** @default `node_modules/.cache/pywasm-assets` of the nearest directory with a package.json, else `$XDG_CACHE_HOME/pywasm-assets` or `~/.cache/pywasm-assets` */
  cacheDir?: string;
  /** file_packager package base name, or false for none. @default 'python' for emscripten-browser, else false */
  package?: string | false;
  /** Put the package metadata inside the loader. @default false */
  inlineMetadata?: boolean;
  /** Ship a sitecustomize that explains imports of omitted modules. @default false */
  omittedHints?: boolean;
  /** Fixed zip entry time (seconds since epoch). @default SOURCE_DATE_EPOCH, else 1980-01-01 */
  sourceDateEpoch?: number;
  /** File system used for reading inputs and writing outputs. @default node:fs */
  fs?: PackFs;
  /** Working directory for relative paths. @default process.cwd() */
  cwd?: string;
  /** Progress events (compile counts); the library never prints. */
  onProgress?: (event: PackProgress) => void;
  /**
   * Stops the run: once aborted, the build-interpreter workers are killed and the
   * run rejects with ERR_INTERRUPTED before anything is written (the previous
   * outputs stay as they were). The outputs are written synchronously, all or
   * none, so an abort never leaves a mixed set; one that comes while they are
   * written is seen after. The reason, when a string (`'SIGINT'`), is named.
   */
  signal?: AbortSignal;
}

export interface PackProgress {
  phase: 'discover' | 'rules' | 'compile' | 'compress' | 'write';
  done: number;
  total: number;
}

/** Where a decision came from. */
export interface RuleRef {
  /** Rule id, e.g. `tests` or `ext-ssl`. */
  id: string;
  /** File the rule was read from (relative to the package for built-in rules). */
  file: string;
  /** The glob that matched. */
  pattern: string;
  /** Human reason, from the rule. */
  reason: string;
  /** Why the rule's condition held, e.g. `MODULE__SSL_STATE = 'missing' in <file>`. */
  evidence?: string[];
}

export interface Decision {
  /** POSIX path relative to the stdlib root. */
  path: string;
  action: 'keep' | 'omit';
  /** The rule that decided; absent for a file kept by default. */
  rule?: RuleRef;
  /** For omissions caused by the import closure: the import chain, e.g. ['xml.sax.saxutils', 'urllib.request']. */
  chain?: string[];
}

export interface PackWarning {
  code: string;
  message: string;
  path?: string;
  /** The module concerned (import-closure warnings). */
  module?: string;
}

export interface KeptModule {
  /** Path relative to the stdlib root (or `<add>/...` for added files). */
  path: string;
  /** Dotted module name. */
  module: string;
  /** Name inside the zip. */
  entry: string;
  /** Bytes in the zip (uncompressed). */
  size: number;
  /** Stored as source because it failed to compile (with allowSyntaxErrors). */
  source?: boolean;
  /** Where it came from: the stdlib, `--add`, the target's sysconfigdata, or generated (`--omitted-hints`). */
  origin: 'stdlib' | 'add' | 'sysconfigdata' | 'generated';
  /**
   * The import check's verdict: `imports` (every unconditional import can succeed on the
   * target) or `fails`, with each failing import and its chain to the root cause.
   */
  importCheck?: {
    verdict: 'imports' | 'fails';
    violations?: { imports: string; line: number; chain: string[]; cause: { kind: string; rule?: string; reason?: string; evidence?: string } }[];
  };
}

export interface OmittedFile {
  path: string;
  rule: string;
  reason: string;
  evidence?: string[];
  chain?: string[];
}

export interface PackOutput {
  /** Absolute path on the file system. */
  path: string;
  kind: 'zip' | 'os.py' | 'lib-dynload' | 'package-data' | 'package-metadata' | 'package-loader' | 'precompressed';
  bytes: number;
  /** For `precompressed`: the output it compresses, and how. */
  of?: string;
  encoding?: PackPrecompression;
  /** A file was there before and this output replaced it (in a build root: what `make wasm_stdlib` wrote). */
  replaced?: true;
}

export interface PackResult {
  version: string;
  target: PackTarget;
  profile: PackProfile;
  /** How the zip's entries are stored; `reason` when the target decided it (no zlib: stored). */
  compression: { method: PackCompression; reason?: string };
  /** Pyodide mode: the distribution packed. */
  pyodide?: { dir: string; release: string; python: string };
  /** The outputs went into the CPython build root itself (the default `out` with `builddir`), beside what `make` writes. */
  outInBuildRoot?: true;
  kept: KeptModule[];
  omitted: OmittedFile[];
  decisions: Decision[];
  outputs: PackOutput[];
  warnings: PackWarning[];
  stats: PackStats;
}

export interface PackStats {
  modules: number;
  omitted: number;
  zipBytes: number;
  cacheHits: number;
  cacheMisses: number;
  /**
   * How the run started (cache/warm-start.ts): `trusted` took the build interpreter's last
   * answer without starting it, its identity (executable, launcher state) being unchanged;
   * `confirmed` ran on the last answer while it started, and it answered the same; `stale`
   * found another answer and ran again; `none` had no last answer.
   */
  warmStart: 'trusted' | 'confirmed' | 'stale' | 'none';
  /**
   * The outputs are those of an earlier run made from the same inputs, every file it read
   * reading the same now (cache/result-memo.ts): nothing was decided, compiled or zipped again.
   */
  reused?: true;
  /** Milliseconds per phase. */
  timings: Record<string, number>;
}
