/**
 * Runtime proof harness for WASI: runs CPython 3.11.2 built for wasm32-wasi
 * (test/support/build-wasi-python.sh) under Node's built-in `node:wasi`
 * (preview1) over a pywasm-assets output directory, the way a user's runtime
 * would: ONLY that directory is mapped, as `/`, and nothing else is set
 * (no PYTHONHOME, no PYTHONPATH), so the interpreter must find
 * /usr/local/lib/python311.zip and /usr/local/lib/python3.11/os.py by itself
 * (getpath falls back to the compiled-in prefix, /usr/local).
 *
 * Every interpreter runs in a child Node process (test/support/wasi-runner.mjs),
 * under a timeout, so a trap, a Node crash or a hang fails one run instead of the
 * test process. A child compiles python.wasm once (~0.2 s) and runs a fresh
 * instance per job; once V8 has tiered the code up, an instance that starts Python
 * and imports a module costs ~40 ms of CPU (the first two ~0.5 s each). Node 20
 * segfaults now and then after many WASI instances in one process (see the
 * runner): a job whose child died is retried once in a new child.
 *
 * Two builds: `nozlib` is what a stock WASI SDK build is (no zlib, so zipimport
 * reads only STORED zips and a deflated stdlib kills start-up); `zlib` links
 * Debian's zlib 1.2.13.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImportFailure, ImportReport, OmittedReport } from './pyodide.js';

export type { ImportFailure, ImportReport, OmittedReport } from './pyodide.js';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
/** Where build-wasi-python.sh puts the source copy, the sysroot and both build roots. */
export const wasiCacheDir = join(root, '.cache', 'wasi-3.11.2');
const RUNNER = join(here, 'wasi-runner.mjs');
/** How to make what missingWasi() reports missing. */
export const BUILD_COMMAND = 'bash test/support/build-wasi-python.sh';
/** The build's prefix (configure's default), under which the interpreter looks for its stdlib. */
export const WASI_PREFIX = '/usr/local';
/** Where the interpreter expects the stdlib zip: `<prefix>/lib/python311.zip`, first on sys.path after ''. */
export const WASI_ZIP = `${WASI_PREFIX}/lib/python311.zip`;

export type WasiVariant = 'nozlib' | 'zlib';

export interface WasiBuild {
  variant: WasiVariant;
  /** Build root, usable as pywasm-assets' `--builddir`. */
  builddir: string;
  /** The interpreter, `<builddir>/python.wasm`. */
  wasm: string;
}

/** A finished build (its `.complete` marker is written last), or undefined. */
export function wasiBuild(variant: WasiVariant): WasiBuild | undefined {
  const builddir = join(wasiCacheDir, variant === 'zlib' ? 'build-zlib' : 'build');
  const wasm = join(builddir, 'python.wasm');
  return existsSync(join(builddir, '.complete')) && existsSync(wasm) ? { variant, builddir, wasm } : undefined;
}

/** Why the WASI tests cannot run here, or null when they can. */
export function missingWasi(variant: WasiVariant = 'nozlib'): string | null {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) return `node:wasi with version 'preview1' needs Node.js 20 or later (this is ${process.version})`;
  if (!wasiBuild(variant)) {
    const dir = join(wasiCacheDir, variant === 'zlib' ? 'build-zlib' : 'build');
    return `no finished WASI build in ${dir} (run \`${BUILD_COMMAND} ${variant}\`: 6-8 min for the first variant, ~1 min for the second, on a busy 2-core machine)`;
  }
  return null;
}

export interface WasiRunOptions {
  /** The interpreter's environment. Default: empty, as a bare WASI runtime gives it. */
  env?: Record<string, string>;
  /** Kill the run after this long. Default: 60 s (a first run in a busy child takes ~1 s). */
  timeoutMs?: number;
  /** The interpreter's standard input. Default: empty (/dev/null). */
  stdin?: string;
}

export interface WasiRunResult {
  /** Exit status, or null when the interpreter did not exit (trap, crash, timeout: see `error`). */
  status: number | null;
  stdout: string;
  stderr: string;
  /** What ended a run without an exit status, e.g. `RuntimeError: unreachable` (a wasm trap). */
  error?: string;
  timedOut: boolean;
  /** Set when the first attempt's child process died and this is the result of the second. */
  retried?: true;
  ms: number;
}

interface Job {
  wasm: string;
  root: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
  stdin?: string;
}

interface Runner {
  child: ChildProcess;
  /** The child's own stderr (Node's crash messages), last few KiB. */
  stderr: string;
}

type Outcome = WasiRunResult & { crashed: boolean };

/**
 * Child processes running WASI jobs, one job per child at a time. A child that
 * crashed or timed out is replaced. Call `close()` when done; idle children do
 * not keep the test process alive, but they live until it exits.
 */
export class WasiPool {
  private idle: Runner[] = [];
  private all = new Set<Runner>();
  private waiting: ((runner: Runner | undefined) => void)[] = [];
  private nextId = 0;
  private closed = false;
  private scratch: string | undefined;

  /** @param size how many children may run at once. Default: one per core. */
  constructor(readonly size = availableParallelism()) {}

  private spawn(): Runner {
    // Explicit execArgv: the test process's own (--import tsx) would slow every start-up.
    const child = fork(RUNNER, [], {
      execArgv: ['--expose-gc', '--no-warnings'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const runner: Runner = { child, stderr: '' };
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      runner.stderr = (runner.stderr + chunk).slice(-4096);
    });
    child.on('exit', () => this.all.delete(runner));
    // An idle child must not keep the test process alive; a running job's timer does.
    child.unref();
    child.channel?.unref();
    this.all.add(runner);
    return runner;
  }

  /** A live idle child, a new one, or (all busy) the next one released; undefined once closed. */
  private acquire(): Promise<Runner | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    let idle: Runner | undefined;
    while ((idle = this.idle.pop())) if (this.all.has(idle)) return Promise.resolve(idle);
    if (this.all.size < this.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(runner: Runner, healthy: boolean): void {
    if (!healthy || this.closed) {
      runner.child.kill('SIGKILL');
      this.all.delete(runner);
    }
    if (this.closed) return;
    const next = this.waiting.shift();
    if (next) next(healthy ? runner : this.spawn());
    else if (healthy) this.idle.push(runner);
  }

  /** Runs one job in one child; never rejects. Output goes through files this side names. */
  private async runOnce(job: Job): Promise<Outcome> {
    const runner = await this.acquire();
    const started = performance.now();
    if (!runner) return { status: null, stdout: '', stderr: '', error: 'the WasiPool was closed', timedOut: false, crashed: false, ms: 0 };
    this.scratch ??= mkdtempSync(join(tmpdir(), 'pywasm-wasi-'));
    const id = this.nextId++;
    const files = {
      stdout: join(this.scratch, `${id}.out`),
      stderr: join(this.scratch, `${id}.err`),
      stdin: job.stdin === undefined ? undefined : join(this.scratch, `${id}.in`),
    };
    if (files.stdin) writeFileSync(files.stdin, job.stdin!);
    const collect = () => {
      const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
      const output = { stdout: read(files.stdout), stderr: read(files.stderr) };
      for (const path of Object.values(files)) if (path) rmSync(path, { force: true });
      return output;
    };
    const { child } = runner;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Pick<Outcome, 'status' | 'error' | 'timedOut' | 'crashed'>, healthy: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        this.release(runner, healthy);
        if (result.error === undefined) delete result.error;
        resolve({ ...result, ...collect(), ms: performance.now() - started });
      };
      const onMessage = (m: { id: number; status: number | null; error?: string }) => {
        if (m.id === id) finish({ status: m.status, error: m.error, timedOut: false, crashed: false }, true);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        const own = runner.stderr.trim();
        const tail = own ? `: ${own.split('\n').slice(-3).join(' | ')}` : '';
        finish({ status: null, error: `the WASI runner process died (${why})${tail}`, timedOut: false, crashed: true }, false);
      };
      const timer = setTimeout(() => {
        finish({ status: null, error: `timed out after ${job.timeoutMs} ms`, timedOut: true, crashed: false }, false);
      }, job.timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      const message = { id, wasm: job.wasm, root: job.root, args: job.args, env: job.env, ...files };
      const unsent = (error: Error | null) => error && onExit(child.exitCode, child.signalCode);
      if (child.connected) child.send(message, unsent);
      else unsent(new Error('not connected'));
    });
  }

  /**
   * Runs `python3.11 <args>` over `rootDir` (mapped as `/`). A run whose child
   * process died (Node's WASI crash, not the interpreter's doing) is retried once.
   */
  async run(wasm: string, rootDir: string, args: string[], options: WasiRunOptions = {}): Promise<WasiRunResult> {
    if (this.closed) throw new Error('WasiPool is closed');
    const job: Job = { wasm, root: rootDir, args, env: options.env ?? {}, timeoutMs: options.timeoutMs ?? 60_000, stdin: options.stdin };
    const first = await this.runOnce(job);
    if (!first.crashed || this.closed) return withoutCrashed(first);
    return { ...withoutCrashed(await this.runOnce(job)), retried: true };
  }

  /** Ends every child and removes the output files. Jobs still queued or running resolve as failed. */
  close(): void {
    this.closed = true;
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
    for (const runner of this.all) runner.child.kill('SIGKILL');
    this.all.clear();
    this.idle = [];
    if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
  }
}

function withoutCrashed({ crashed: _, ...result }: Outcome): WasiRunResult {
  return result;
}

/**
 * Runs `python3.11 <args>` (e.g. `['-c', 'print(1)']`, `['-m', 'json.tool']`) in a
 * fresh child process over `rootDir`, mapped as `/`. Never rejects: look at
 * `status`, `error` and `timedOut`. Each call costs ~1 s (process, compile, first
 * run); for many runs keep a `WasiPool` open.
 */
export async function runWasi(wasm: string, rootDir: string, args: string[], options: WasiRunOptions = {}): Promise<WasiRunResult> {
  const pool = new WasiPool(1);
  try {
    return await pool.run(wasm, rootDir, args, options);
  } finally {
    pool.close();
  }
}

/** The line a snippet prints last; whatever a module printed at import comes before it. */
const MARKER = '@@pywasm-assets-report ';

/** The report line of a run's stdout, parsed; undefined when the interpreter never printed it. */
function reportOf<T>(stdout: string): T | undefined {
  const at = stdout.lastIndexOf(MARKER);
  if (at < 0) return undefined;
  const line = stdout.slice(at + MARKER.length).split('\n', 1)[0];
  return JSON.parse(line) as T;
}

/** What a run that printed no report looked like, for failure messages. */
function describeRun(result: WasiRunResult): string {
  const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
  return [result.error ?? `exit status ${result.status}`, tail].filter(Boolean).join('; ');
}

// Mirrors IMPORT_ALL_PY of pyodide.ts: each import in its own try; BaseException
// is caught too (SystemExit from a module that exits); a module that failed is
// dropped from sys.modules by the import system, so a later import retries it.
// Names come in argv; with --skip-frozen, modules frozen into the interpreter
// (3.11 freezes the start-up modules and __hello__/__phello__) are listed, not imported.
const IMPORT_ALL_PY = `
import _imp, importlib, json, re, sys, warnings
args = sys.argv[1:]
skip_frozen = args[:1] == ['--skip-frozen']
names = args[1:] if skip_frozen else args
ok, failed, frozen = [], [], []
for name in names:
    if skip_frozen and _imp.is_frozen(name):
        frozen.append(name)
        continue
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            importlib.import_module(name)
    except BaseException as exc:
        missing = getattr(exc, 'name', None)
        if missing is None and isinstance(exc, ModuleNotFoundError):
            found = re.search(r"No module named '([^']+)'", str(exc))
            missing = found and found.group(1)
        failed.append({'module': name, 'type': type(exc).__name__, 'message': str(exc), 'name': missing})
    else:
        ok.append(name)
sys.__stdout__.write('\\n${MARKER}' + json.dumps({'ok': ok, 'failed': failed, 'frozen': frozen}) + '\\n')
`;

// One module in a fresh interpreter: nothing is imported before it but what
// start-up itself imports (site, os, encodings, ...); json only afterwards, to report.
const IMPORT_ONE_PY = `
import sys
name = sys.argv[1]
try:
    __import__(name)
except BaseException as exc:
    failure = {'module': name, 'type': type(exc).__name__, 'message': str(exc), 'name': getattr(exc, 'name', None)}
else:
    failure = None
import json
sys.__stdout__.write('\\n${MARKER}' + json.dumps(failure) + '\\n')
`;

function cleanFailure(f: ImportFailure): ImportFailure {
  if (f.name == null) delete f.name;
  return f;
}

export interface WasiImportOptions extends WasiRunOptions {
  /** Interpreter options before `-c`, e.g. `['-S']` to skip `site`, `['-I']` for isolated mode. */
  pythonArgs?: string[];
}

/**
 * ONE interpreter imports all `modules`, in order, each in its own try (the
 * shape of pyodide.ts's `importAll`). An interpreter that dies before reporting
 * (e.g. a deflated zip without zlib kills start-up) fails every module with type
 * `(no report)` and what the run printed. Default timeout: 120 s.
 */
export async function importAllWasi(wasm: string, rootDir: string, modules: string[], options: WasiImportOptions = {}): Promise<ImportReport> {
  const { report } = await importAllRun(wasm, rootDir, modules, false, options);
  return { ok: report.ok, failed: report.failed };
}

async function importAllRun(wasm: string, rootDir: string, modules: string[], skipFrozen: boolean, options: WasiImportOptions) {
  const args = [...(options.pythonArgs ?? []), '-c', IMPORT_ALL_PY, ...(skipFrozen ? ['--skip-frozen'] : []), ...modules];
  const result = await runWasi(wasm, rootDir, args, { env: options.env, timeoutMs: options.timeoutMs ?? 120_000 });
  const report = reportOf<ImportReport & { frozen: string[] }>(result.stdout);
  if (!report) {
    const message = describeRun(result);
    return { result, report: { ok: [], failed: modules.map((module) => ({ module, type: '(no report)', message })), frozen: [] } };
  }
  report.failed.forEach(cleanFailure);
  return { result, report };
}

/**
 * Imports every omitted module in one interpreter; each must raise
 * ModuleNotFoundError (the shape of pyodide.ts's `importOmitted`). Give the
 * outermost names only (pyodide.ts `outermostModules`).
 */
export async function importOmittedWasi(wasm: string, rootDir: string, modules: string[], options: WasiImportOptions = {}): Promise<OmittedReport> {
  const { report } = await importAllRun(wasm, rootDir, modules, true, options);
  return {
    missing: report.failed.filter((f) => f.type === 'ModuleNotFoundError').map((f) => f.module),
    frozen: report.frozen,
    wrong: [
      ...report.ok.map((module) => ({ module, type: '(imported)', message: 'an omitted module imported' })),
      ...report.failed.filter((f) => f.type !== 'ModuleNotFoundError'),
    ].sort((a, b) => (a.module < b.module ? -1 : 1)),
  };
}

export interface WasiImportEachOptions extends WasiImportOptions {
  /** Child processes working at once. Default: one per core. */
  workers?: number;
  /** Called after each module, e.g. for progress. */
  onResult?: (module: string, failure: ImportFailure | undefined, result: WasiRunResult) => void;
}

/**
 * Imports each module in a FRESH interpreter (a new WASI instance per module),
 * spread over one child process per core, so a module that only imports after
 * another one has (or breaks the next one) cannot hide. Same report shape as
 * `importAllWasi`, modules in the given order. A module whose interpreter printed
 * no report fails with type `(timeout)`, `(crash)` (a trap, or the child process
 * died twice) or `(no report)` (it exited early), and what the run printed.
 * Timeout: 60 s per module. 438 modules cost ~18 s of CPU (~10 s on an idle
 * 2-core machine); measured 40-85 s of wall time on a busy one.
 */
export async function importEachWasi(wasm: string, rootDir: string, modules: string[], options: WasiImportEachOptions = {}): Promise<ImportReport> {
  const pool = new WasiPool(Math.max(1, Math.min(options.workers ?? availableParallelism(), modules.length)));
  const outcomes = new Array<ImportFailure | null>(modules.length);
  try {
    await Promise.all(
      modules.map(async (module, i) => {
        const args = [...(options.pythonArgs ?? []), '-c', IMPORT_ONE_PY, module];
        const result = await pool.run(wasm, rootDir, args, { env: options.env, timeoutMs: options.timeoutMs ?? 60_000 });
        let failure: ImportFailure | null | undefined = reportOf<ImportFailure | null>(result.stdout);
        if (failure === undefined) {
          const type = result.timedOut ? '(timeout)' : result.status === null ? '(crash)' : '(no report)';
          failure = { module, type, message: describeRun(result) };
        }
        outcomes[i] = failure && cleanFailure(failure);
        options.onResult?.(module, failure ?? undefined, result);
      }),
    );
  } finally {
    pool.close();
  }
  return {
    ok: modules.filter((_, i) => outcomes[i] === null),
    failed: outcomes.filter((f): f is ImportFailure => f !== null),
  };
}

/**
 * The file names of a traceback's frames (`File "<name>", line N`), in order:
 * a test checks that they are in-bundle paths under WASI_ZIP.
 */
export function tracebackFiles(stderr: string): string[] {
  return [...stderr.matchAll(/^ {2}File "([^"]+)", line \d+/gm)].map((m) => m[1]);
}
