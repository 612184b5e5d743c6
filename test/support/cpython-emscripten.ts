/**
 * Harness for CPython's own Emscripten builds (issue 15): CPython 3.11.2 built
 * by test/support/build-emscripten-python.sh with Debian's emcc 3.1.6 into
 * .cache/emscripten-3.11.2/{browser,node}/ (build roots as `make` leaves them).
 *
 * - `emscriptenBuild(target)`: the build's paths, or undefined when it is not complete;
 *   `missingEmscriptenPython()` says why the tests cannot run.
 * - node target (-sNODERAWFS: the host's real file system): `runNodePython()` runs its
 *   python.js in a child process. It finds its stdlib from the executable's location only
 *   (Emscripten passes no host environment: PYTHONHOME is ignored), so `installNodePython()`
 *   copies python.js/python.wasm into `<out>/usr/local/bin/`, beside pywasm-assets' output.
 * - browser target: `relinkBrowserPython()` links the build's objects again without
 *   `--preload-file` (cached), so that a pywasm-assets package provides the stdlib;
 *   `runBrowserPythonNode()` runs a browser python.js under Node with package loaders
 *   concatenated before it (what --pre-js does), and `runBrowserPythonChromium()` runs it in a
 *   Web Worker (importScripts(loader, python.js)) of a page served from 127.0.0.1.
 * - `cpythonNodeAssets()`: CPython's own assets for the node build (`make wasm_stdlib`);
 *   `importableModules(zip)`: the modules of a stdlib zip to import.
 * - `importModules*()`: imports a list of modules in one interpreter and reports
 *   `{ ok, failed }` like importAll in ./pyodide.ts; a module that kills the runtime is
 *   recorded (type `RuntimeCrash`) and the rest are imported in a fresh interpreter.
 *
 * Every run has a timeout: a 3.1.6 runtime whose package never arrives waits forever.
 * See /work/notes/emscripten-cpython.md for the commands behind each function.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { missingChromium, missingEmscripten, reportingScript, reportServer, root, run, runChromium, serveDir, type Report, type RunResult } from './emscripten.js';
import { isSkipped, zipModules, type ImportFailure, type ImportReport } from './pyodide.js';

export type { ImportFailure, ImportReport };

export type EmscriptenTarget = 'browser' | 'node';

/** Where build-emscripten-python.sh puts its build roots. */
export const EMSCRIPTEN_PYTHON_DIR = join(root, '.cache', 'emscripten-3.11.2');
export const BUILD_SCRIPT = join(root, 'test', 'support', 'build-emscripten-python.sh');
/** The sysconfigdata module's path inside a build root. */
export const SYSCONFIGDATA = 'build/lib.emscripten-wasm32-3.11/_sysconfigdata__emscripten_wasm32-emscripten.py';
/** pywasm-assets' default package name for emscripten-browser. */
export const PACKAGE_NAME = 'python-stdlib';

export interface EmscriptenBuild {
  target: EmscriptenTarget;
  /** The build root (Makefile, pybuilddir.txt, config.status): `pack --builddir` takes it. */
  dir: string;
  js: string;
  wasm: string;
  /** Browser: CPython's own preloaded stdlib (python.data, made by `make` with --preload-file). */
  data?: string;
  /** CPython's own assets tree (browser: `<dir>/usr/local`, what python.data holds). */
  assets?: string;
  sysconfigdata: string;
  makefile: string;
  /** The source tree the build was configured with (its Lib/ is the stdlib). */
  srcdir: string;
}

/** The build's paths, or undefined unless build-emscripten-python.sh completed it. */
export function emscriptenBuild(target: EmscriptenTarget): EmscriptenBuild | undefined {
  const dir = join(EMSCRIPTEN_PYTHON_DIR, target);
  if (!existsSync(join(dir, '.complete'))) return undefined;
  const build: EmscriptenBuild = {
    target,
    dir,
    js: join(dir, 'python.js'),
    wasm: join(dir, 'python.wasm'),
    sysconfigdata: join(dir, SYSCONFIGDATA),
    makefile: join(dir, 'Makefile'),
    srcdir: join(EMSCRIPTEN_PYTHON_DIR, 'src'),
  };
  if (target === 'browser') {
    build.data = join(dir, 'python.data');
    build.assets = join(dir, 'usr', 'local');
  }
  for (const path of [build.js, build.wasm, build.sysconfigdata, build.makefile, build.data]) {
    if (path && !existsSync(path)) return undefined;
  }
  return build;
}

/** Why CPython's Emscripten builds cannot be used here (null: they can). */
export function missingEmscriptenPython(targets: EmscriptenTarget[] = ['browser', 'node']): string | null {
  const tools = missingEmscripten();
  if (tools) return tools;
  const missing = targets.filter((t) => !emscriptenBuild(t));
  if (missing.length === 0) return null;
  return `CPython 3.11.2 for Emscripten (${missing.join(', ')}) is not built: run bash test/support/build-emscripten-python.sh ${missing.length === 2 ? 'all' : missing[0]} (about 10-20 min on 2 cores)`;
}

export { missingChromium };

/** Runs build-emscripten-python.sh (seconds when the builds are complete). */
export function buildEmscriptenPython(what: EmscriptenTarget | 'all' = 'all', timeoutMs = 45 * 60_000): Promise<RunResult> {
  return run('bash', [BUILD_SCRIPT, what], { timeoutMs });
}

// --- browser target: re-link without --preload-file -----------------------------------------------

export interface Linked {
  js: string;
  wasm: string;
  /** The directory holding both. */
  dir: string;
  /** Whether this call linked (false: cached). */
  linked: boolean;
  ms: number;
  /** The make command line that linked it (also in <dir>/link-command.txt). */
  command: string[];
}

/**
 * The Makefile's value of `name` in `makefile`, as written (unexpanded).
 * Only `NAME= value` lines (how configure writes them).
 */
export function makefileValue(makefile: string, name: string): string | undefined {
  const match = new RegExp(`^${name}[ \\t]*=[ \\t]*(.*)$`, 'm').exec(readFileSync(makefile, 'utf8'));
  return match ? match[1].trim() : undefined;
}

/**
 * The make arguments that link the browser build's python.js/python.wasm into `out` without
 * CPython's stdlib preloaded: the Makefile's own link rule (`$(BUILDPYTHON): Programs/python.o
 * $(LINK_PYTHON_DEPS)`), with
 * - LINKFORSHARED minus `--preload-file=$(WASM_ASSETS_DIR)` (no python.data, no loader in python.js),
 * - LIBRARY_DEPS without $(WASM_STDLIB) python.html python.worker.js (the stdlib assets are not
 *   made again),
 * - BUILDPYTHON=<out>/python.js (the stock python.js stays as it is).
 */
export function relinkArguments(build: EmscriptenBuild, out: string): string[] {
  const linkforshared = makefileValue(build.makefile, 'LINKFORSHARED');
  if (linkforshared === undefined || !linkforshared.includes('--preload-file')) {
    throw new Error(`${build.makefile}: LINKFORSHARED has no --preload-file (${linkforshared}); is this a browser build?`);
  }
  const withoutPreload = linkforshared.replace(/\s*--preload-file[= ]\S+/g, '').trim();
  const libraryDeps = (makefileValue(build.makefile, 'LIBRARY_DEPS') ?? '$(LIBRARY) $(PY3LIBRARY)')
    .replace(/\$\(WASM_STDLIB\)|\bpython\.html\b|\bpython\.worker\.js\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const js = join(out, 'python.js');
  return ['-C', build.dir, '--no-print-directory', `BUILDPYTHON=${js}`, `LINKFORSHARED=${withoutPreload}`, `LIBRARY_DEPS=${libraryDeps}`, js];
}

/**
 * The browser build's python.js/python.wasm linked again without `--preload-file`, cached in
 * .cache/emscripten-3.11.2/browser-nopreload/ (keyed on the build's .complete and python.wasm):
 * a rerun costs nothing. Linking costs about 20-60 s on 2 cores (wasm-opt -O2).
 */
export async function relinkBrowserPython(build = emscriptenBuild('browser')): Promise<Linked> {
  if (!build) throw new Error(missingEmscriptenPython(['browser']) ?? 'no browser build');
  const started = performance.now();
  const key = createHash('sha256')
    .update(readFileSync(join(build.dir, '.complete')))
    .update(String(statSync(build.wasm).mtimeMs))
    .update(readFileSync(build.makefile))
    .digest('hex')
    .slice(0, 16);
  const cacheRoot = join(EMSCRIPTEN_PYTHON_DIR, 'browser-nopreload');
  const dir = join(cacheRoot, key);
  const result = (linked: boolean, command: string[]): Linked => ({
    js: join(dir, 'python.js'),
    wasm: join(dir, 'python.wasm'),
    dir,
    linked,
    ms: performance.now() - started,
    command,
  });
  if (existsSync(join(dir, '.complete'))) {
    return result(false, readFileSync(join(dir, 'link-command.txt'), 'utf8').trim().split('\n'));
  }
  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(join(cacheRoot, '.link-'));
  try {
    const args = relinkArguments(build, work);
    const linked = await run('make', args, { timeoutMs: 15 * 60_000, env: emscriptenEnv() });
    if (linked.code !== 0) throw new Error(`re-linking python.js failed (exit ${linked.code}):\n${linked.stdout}${linked.stderr}`);
    for (const file of ['python.js', 'python.wasm']) {
      if (!existsSync(join(work, file))) throw new Error(`re-linking wrote no ${file}:\n${linked.stdout}${linked.stderr}`);
    }
    if (existsSync(join(work, 'python.data'))) throw new Error('the re-linked python.js still has a python.data');
    const command = ['make', ...relinkArguments(build, dir)];
    writeFileSync(join(work, 'link-command.txt'), command.join('\n') + '\n');
    writeFileSync(join(work, 'link.log'), linked.stdout + linked.stderr);
    writeFileSync(join(work, '.complete'), key + '\n');
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(work, dir);
    } catch (error) {
      // Another process linked the same key meanwhile: use its result.
      if (!existsSync(join(dir, '.complete'))) throw error;
    }
    // Links of older builds are dead weight (work directories of other processes start with '.').
    for (const old of safeReaddir(cacheRoot)) {
      if (old !== key && !old.startsWith('.')) rmSync(join(cacheRoot, old), { recursive: true, force: true });
    }
    return result(true, command);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What build-emscripten-python.sh sets for emcc (pyenv's python3 shim costs 0.3 s a call). */
function emscriptenEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, EMCC_SKIP_SANITY_CHECK: '1', NODE_PATH: '/usr/share/nodejs' };
  if (!env.EMSDK_PYTHON && existsSync('/usr/bin/python3')) env.EMSDK_PYTHON = '/usr/bin/python3';
  delete env.EM_CACHE;
  return env;
}

// --- node target -----------------------------------------------------------------------------

export interface PythonRun extends RunResult {
  /** The command line, for messages. */
  argv: string[];
}

/**
 * Copies the node build's python.js and python.wasm into `<out>/<prefix>/bin/` (the layout in
 * which CPython finds `<out>/<prefix>/lib/python311.zip` from its own location; symbolic links
 * would not do: CPython resolves them and finds the build root) and returns the new python.js.
 * `out` must not be inside a package.json "type": "module" scope (Node would load python.js as
 * an ES module: "__dirname is not defined in ES module scope"); tmpdir() is fine.
 */
export function installNodePython(out: string, build = emscriptenBuild('node'), prefix = '/usr/local'): string {
  if (!build) throw new Error(missingEmscriptenPython(['node']) ?? 'no node build');
  const bin = join(out, prefix, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(build.js, join(bin, 'python.js'));
  copyFileSync(build.wasm, join(bin, 'python.wasm'));
  return join(bin, 'python.js');
}

/**
 * Runs a node-target python.js (default: the build's own, in its build root, where it uses the
 * source tree's Lib/) with `args`, in a child process with a timeout (default 60 s).
 */
export async function runNodePython(
  args: string[],
  options: { js?: string; cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<PythonRun> {
  const js = options.js ?? emscriptenBuild('node')?.js;
  if (!js) throw new Error(missingEmscriptenPython(['node']) ?? 'no node build');
  const argv = [process.execPath, js, ...args];
  const result = await run(argv[0], argv.slice(1), {
    cwd: options.cwd ?? tmpdir(),
    timeoutMs: options.timeoutMs ?? 60_000,
    env: options.env,
  });
  return { ...result, argv };
}

/**
 * CPython's own assets for the node build: `make wasm_stdlib` in its build root (what `make`
 * does for the browser target: Tools/wasm/wasm_assets.py with the node build's sysconfigdata),
 * giving `<node build root>/usr/local` (lib/python311.zip, lib/python3.11/os.py, ...). Make
 * skips it once done.
 */
export async function cpythonNodeAssets(build = emscriptenBuild('node')): Promise<string> {
  if (!build) throw new Error(missingEmscriptenPython(['node']) ?? 'no node build');
  const made = await run('make', ['-C', build.dir, '--no-print-directory', 'wasm_stdlib'], {
    env: emscriptenEnv(),
    timeoutMs: 5 * 60_000,
  });
  if (made.code !== 0) throw new Error(`make wasm_stdlib failed (exit ${made.code}):\n${made.stdout}${made.stderr}`);
  return join(build.dir, 'usr', 'local');
}

/** The modules of a stdlib zip that an import check should import (pyodide.ts's IMPORT_SKIPS left out). */
export function importableModules(zipPath: string): string[] {
  return zipModules(zipPath).filter((m) => !isSkipped(m));
}

// --- browser target under Node.js ----------------------------------------------------------------

export interface BrowserPython {
  /** python.js of a browser-target build (stock or re-linked) and its python.wasm. */
  js: string;
  wasm: string;
  /** Stock builds only: the python.data its embedded loader reads. */
  data?: string;
}

export interface BrowserRunOptions {
  /**
   * Package loaders to put before python.js (`<dir>/<name>.js` with its .data and .js.metadata),
   * e.g. pywasm-assets' `--out`; none: python.js runs with what it preloads itself.
   */
  packages?: { dir: string; name?: string }[];
  /** Environment for Python (Module.ENV is not in 3.1.6; set in preRun through ENV). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** A script that runs before the loaders: Module.preRun sets ENV entries. */
function prelude(env: Record<string, string> | undefined): string {
  if (!env || Object.keys(env).length === 0) return '';
  return `var Module = typeof Module != 'undefined' ? Module : {};
Module.preRun = [].concat(Module.preRun || [], [function () { Object.assign(ENV, ${JSON.stringify(env)}); }]);
`;
}

/**
 * Lays out a run directory: `run.js` = prelude + package loaders + python.js (one script: the
 * shared `Module` is the script's own variable, as with --pre-js), python.wasm and the packages'
 * files as symbolic links beside it (python.js and the loaders find them next to the script).
 */
function browserRunDir(python: BrowserPython, options: BrowserRunOptions): string {
  const dir = mkdtempSync(join(tmpdir(), 'pywasm-cpython-em-'));
  const parts = [prelude(options.env)];
  const link = (from: string) => symlinkSync(resolve(from), join(dir, basename(from)));
  for (const pkg of options.packages ?? []) {
    const name = pkg.name ?? PACKAGE_NAME;
    parts.push(readFileSync(join(pkg.dir, `${name}.js`), 'utf8'));
    link(join(pkg.dir, `${name}.data`));
    if (existsSync(join(pkg.dir, `${name}.js.metadata`))) link(join(pkg.dir, `${name}.js.metadata`));
  }
  parts.push(readFileSync(python.js, 'utf8'));
  writeFileSync(join(dir, 'run.js'), parts.join('\n'));
  // python.js asks for python.wasm next to the script (locateFile: scriptDirectory + name).
  link(python.wasm);
  if (python.data) link(python.data);
  return dir;
}

/**
 * Runs a browser-target python.js under Node.js with `args` (process.argv → Python's argv),
 * package loaders concatenated before it, in a child process with a timeout (default 60 s).
 * The working directory is the run directory: the stock loader reads python.data from there.
 */
export async function runBrowserPythonNode(python: BrowserPython, args: string[], options: BrowserRunOptions = {}): Promise<PythonRun> {
  const dir = browserRunDir(python, options);
  try {
    const argv = [process.execPath, join(dir, 'run.js'), ...args];
    const result = await run(argv[0], argv.slice(1), { cwd: dir, timeoutMs: options.timeoutMs ?? 60_000 });
    return { ...result, argv };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- browser target in headless Chromium -------------------------------------------------------

/**
 * The page starts a Web Worker that does `importScripts(loaders..., 'python.js')` with `Module`
 * defined in the worker: what CPython's Tools/wasm/python.worker.js does. python.js of these
 * builds compiles its .wasm synchronously (-sWASM_ASYNC_COMPILATION=0), which Chromium allows in
 * workers only (on a page's main thread it refuses modules over 4 KB, and 3.1.6's
 * Module.instantiateWasm hook cannot help: the sync build reads the exports at once).
 * The worker posts Python's output to the page; at the end (`exit N`, `abort: ...`,
 * `error: ...`) the page POSTs `{ status, lines }` to a report server on 127.0.0.1 and the
 * harness ends Chromium.
 *
 * dumpDom (--dump-dom with a virtual time budget) cannot wait for a worker: the idle page uses up
 * its budget at once; a pending request would pause virtual time, but then the worker's timers
 * (the loaders' setTimeout) never fire either.
 */
function pageHtml(reportUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>CPython Emscripten browser build</title></head>
<body><pre id="out"></pre>
<script>
  ${reportingScript(reportUrl)}
  window.addEventListener('error', function (event) { finish('error: ' + event.message); });
  var worker = new Worker('worker.js');
  worker.onmessage = function (event) {
    var m = event.data;
    if (m.type === 'out') lines.push(m.text);
    else if (m.type === 'err') lines.push('ERR ' + m.text);
    else finish(m.text);
  };
  worker.onerror = function (event) { finish('error: ' + event.message); };
</script></body></html>
`;
}

function workerJs(scripts: string[], args: string[], env: Record<string, string> | undefined): string {
  return `var Module = {
  arguments: ${JSON.stringify(args)},
  print: function (text) { postMessage({ type: 'out', text: text }); },
  printErr: function (text) { postMessage({ type: 'err', text: text }); },
  // Without -sEXIT_RUNTIME (browser builds) onExit is never called; quit is, at every exit.
  quit: function (status, toThrow) { postMessage({ type: 'end', text: 'exit ' + status }); throw toThrow; },
  onAbort: function (what) { postMessage({ type: 'end', text: 'abort: ' + what }); },
  preRun: [function () { Object.assign(ENV, ${JSON.stringify(env ?? {})}); }],
};
importScripts(${scripts.map((s) => JSON.stringify(s)).join(', ')});
`;
}

export interface PageRun extends RunResult {
  /** `exit N`, `abort: ...`, `error: ...`, or undefined (no report before the timeout). */
  status?: string;
  /** Python's output, one line each (stderr lines prefixed `ERR `). */
  out: string;
  /** Paths the page and the worker fetched, in order. */
  requests: string[];
}

/**
 * Runs a browser-target python.js in a Web Worker of a page on 127.0.0.1 in headless Chromium
 * with `args`, the packages' loaders imported before python.js (default timeout 120 s).
 */
export async function runBrowserPythonChromium(python: BrowserPython, args: string[], options: BrowserRunOptions = {}): Promise<PageRun> {
  const dir = mkdtempSync(join(tmpdir(), 'pywasm-cpython-chromium-'));
  const link = (from: string) => symlinkSync(resolve(from), join(dir, basename(from)));
  const scripts: string[] = [];
  try {
    for (const pkg of options.packages ?? []) {
      const name = pkg.name ?? PACKAGE_NAME;
      for (const suffix of ['.js', '.data', '.js.metadata']) {
        if (existsSync(join(pkg.dir, name + suffix))) link(join(pkg.dir, name + suffix));
      }
      scripts.push(`${name}.js`);
    }
    link(python.js);
    link(python.wasm);
    if (python.data) link(python.data);
    scripts.push('python.js');
    const reports = await reportServer();
    writeFileSync(join(dir, 'index.html'), pageHtml(reports.url));
    writeFileSync(join(dir, 'worker.js'), workerJs(scripts, args, options.env));
    const server = await serveDir(dir);
    try {
      let report: Report | undefined;
      const result = await runChromium(
        server.url + 'index.html',
        reports.report.then((r) => (report = r)),
        options.timeoutMs ?? 120_000,
      );
      return { ...result, status: report?.status, out: (report?.lines ?? []).join('\n'), requests: server.requests };
    } finally {
      await Promise.all([server.close(), reports.close()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- importing modules ------------------------------------------------------------------------------

// One line per module, each starting with the record separator \x1e (a module may print
// without a newline): TRY before the import, then OK or FAIL <json>; DONE at the end. A
// runtime that dies in an import leaves a TRY without an answer.
const IMPORT_MODULES_PY = `
import importlib, json, re, sys, warnings
def _say(kind, value):
    sys.stdout.write('\\n\\x1e' + kind + ' ' + value + '\\n')
    sys.stdout.flush()
for name in sys.argv[1:]:
    _say('TRY', name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            importlib.import_module(name)
    except BaseException as exc:
        missing = getattr(exc, 'name', None)
        if missing is None and isinstance(exc, ModuleNotFoundError):
            found = re.search(r"No module named '([^']+)'", str(exc))
            missing = found and found.group(1)
        _say('FAIL', json.dumps({'module': name, 'type': type(exc).__name__, 'message': str(exc), 'name': missing}))
    else:
        _say('OK', name)
_say('DONE', str(len(sys.argv) - 1))
`;

/** The interpreter arguments that import `modules` and report each (see parseImportOutput). */
export function importModulesArgs(modules: string[]): string[] {
  return ['-c', IMPORT_MODULES_PY, ...modules];
}

export interface ParsedImports {
  ok: string[];
  failed: ImportFailure[];
  /** The module being imported when the output ended without DONE (the runtime died). */
  crashed?: string;
  done: boolean;
}

export function parseImportOutput(stdout: string): ParsedImports {
  const ok: string[] = [];
  const failed: ImportFailure[] = [];
  let pending: string | undefined;
  let done = false;
  for (const chunk of stdout.split('\x1e').slice(1)) {
    const line = chunk.split('\n', 1)[0];
    const space = line.indexOf(' ');
    const kind = line.slice(0, space);
    const value = line.slice(space + 1);
    if (kind === 'TRY') pending = value;
    else if (kind === 'OK') {
      ok.push(value);
      pending = undefined;
    } else if (kind === 'FAIL') {
      const failure = JSON.parse(value) as ImportFailure;
      if (failure.name == null) delete failure.name;
      failed.push(failure);
      pending = undefined;
    } else if (kind === 'DONE') done = true;
  }
  return { ok, failed, crashed: done ? undefined : pending, done };
}

export interface ImportRunReport extends ImportReport {
  /** One per interpreter started (more than one when a module killed the runtime). */
  runs: { argv0: string; ms: number; code: number | null; timedOut: boolean; stderrTail: string }[];
}

/**
 * Imports `modules` with a runner that starts an interpreter on the given arguments (one of the
 * run* functions above). If the runtime dies (or times out) in an import, that module is
 * recorded as failed with type `RuntimeCrash` (or `Timeout`) and the remaining ones are imported
 * in a fresh interpreter (at most `maxRestarts` times).
 */
export async function importModulesWith(
  runner: (args: string[]) => Promise<{ stdout: string; stderr: string; code: number | null; timedOut: boolean; ms: number; status?: string }>,
  modules: string[],
  maxRestarts = 10,
): Promise<ImportRunReport> {
  const report: ImportRunReport = { ok: [], failed: [], runs: [] };
  let rest = modules.slice();
  for (let attempt = 0; rest.length > 0; attempt++) {
    const ran = await runner(importModulesArgs(rest));
    const parsed = parseImportOutput(ran.stdout);
    const stderrTail = (ran.status ? `[${ran.status}] ` : '') + ran.stderr.slice(-2000);
    report.runs.push({ argv0: rest[0], ms: ran.ms, code: ran.code, timedOut: ran.timedOut, stderrTail });
    report.ok.push(...parsed.ok);
    report.failed.push(...parsed.failed);
    if (parsed.done) break;
    const seen = new Set([...parsed.ok, ...parsed.failed.map((f) => f.module)]);
    const crashed = parsed.crashed;
    if (!crashed) {
      // No import started: the interpreter did not start, or (Chromium) no report arrived.
      throw new Error(
        `no import ran (exit ${ran.code}${ran.timedOut ? ', timed out' : ''}): the interpreter did not start or reported nothing:\n` +
          `${ran.stdout.slice(-2000)}\n${stderrTail}`,
      );
    }
    report.failed.push({
      module: crashed,
      type: ran.timedOut ? 'Timeout' : 'RuntimeCrash',
      message: `the runtime ${ran.timedOut ? 'timed out' : `died (exit ${ran.code})`} importing ${crashed}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
    });
    seen.add(crashed);
    rest = rest.filter((m) => !seen.has(m));
    if (attempt >= maxRestarts) {
      for (const m of rest) report.failed.push({ module: m, type: 'NotTried', message: `gave up after ${maxRestarts} restarts` });
      break;
    }
  }
  return report;
}

/** Imports `modules` in the node target's python.js (e.g. installNodePython's copy). */
export function importModulesNode(modules: string[], options: { js?: string; cwd?: string; timeoutMs?: number } = {}): Promise<ImportRunReport> {
  return importModulesWith((args) => runNodePython(args, options), modules);
}

/** Imports `modules` in a browser-target python.js under Node.js, packages loaded before it. */
export function importModulesBrowserNode(python: BrowserPython, modules: string[], options: BrowserRunOptions = {}): Promise<ImportRunReport> {
  return importModulesWith((args) => runBrowserPythonNode(python, args, options), modules);
}

/** Imports `modules` in a browser-target python.js in a Web Worker in headless Chromium. */
export function importModulesChromium(python: BrowserPython, modules: string[], options: BrowserRunOptions = {}): Promise<ImportRunReport> {
  return importModulesWith(async (args) => {
    const page = await runBrowserPythonChromium(python, args, options);
    const code = page.status?.startsWith('exit ') ? Number(page.status.slice(5)) : null;
    // Python's stderr is in the page's lines (ERR ...); Chromium's own stderr is noise here.
    const stderr = page.out.split('\n').filter((line) => line.startsWith('ERR ')).join('\n');
    return { stdout: page.out, stderr, code, timedOut: page.timedOut || page.status === undefined, ms: page.ms, status: page.status };
  }, modules);
}

