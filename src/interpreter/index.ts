/**
 * The build interpreter: the only module that starts processes.
 *
 * `probeInterpreter()` asks a Python once for its version and bytecode magic;
 * `CompilerPool` keeps N workers (src/python/worker.py) alive for a run and
 * feeds them batches of raw source bytes over their stdin/stdout pipes. The
 * framing both ways is `4-byte big-endian header length | JSON header | payload`.
 *
 * A build interpreter is a CPython executable, or a Pyodide distribution: a
 * directory holding `pyodide.mjs` (the npm package `pyodide`). Its workers are
 * Node processes running src/pyodide-host.ts, which runs the same worker.py
 * inside that WebAssembly CPython and speaks the same protocol.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import path, { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackError } from '../errors.js';
import type { PackInvalidation } from '../types.js';

/** What `probeInterpreter()` learnt about a build interpreter. */
export interface InterpreterInfo {
  /** The executable as given (a name on PATH or a path). */
  executable: string;
  /** `sys.executable` as the interpreter reports it. */
  resolved: string;
  /** e.g. `3.11.7` */
  version: string;
  versionInfo: [number, number, number];
  /** Bytecode magic number, e.g. 3495 for 3.11 (`importlib.util.MAGIC_NUMBER`, little-endian u16). */
  magic: number;
  /** The 4 magic bytes in hex, e.g. `a70d0d0a`. */
  magicHex: string;
  /** `sys.implementation.name` (always `cpython` once probed). */
  implementation: string;
  /** e.g. `cpython-311` */
  cacheTag: string;
  /**
   * sha256 of the worker scripts (worker.py, imports.py). The pyc bytes and
   * the import lists depend on them, so the cache key includes it.
   */
  workerDigest: string;
  /** The interpreter's own stdlib (`sysconfig.get_paths()['stdlib']`), when it reports one. */
  stdlib?: string;
  /** Working directory the workers run in. */
  cwd?: string;
  /**
   * The Pyodide release when the build interpreter is a Pyodide distribution
   * (`executable` is then its directory), e.g. `0.25.1`.
   */
  pyodide?: string;
}

export interface CompileItem {
  /** Path relative to the stdlib root; only used in messages. */
  path: string;
  /** Raw source bytes (coding cookies and BOMs are honoured by the compiler). */
  source: Uint8Array;
  /** File name embedded in the code objects, e.g. `/usr/local/lib/python311.zip/json/decoder.py`. */
  filename: string;
  /** sha256 (hex) of `source` when already known (the cache key uses it). */
  sourceHash?: string;
}

export interface CompileSettings {
  optimize: 0 | 1 | 2;
  invalidation: PackInvalidation;
  /** Seconds since the epoch written into timestamp pycs. @default 0 */
  mtime?: number;
  /**
   * Run the import scanner (src/python/imports.py) on each module. Costs about
   * twice the compile time (the Python AST objects); the pycs are identical.
   * @default true
   */
  imports?: boolean;
}

export interface CompileError {
  /** 1-based line, when the compiler knows it. */
  line: number | null;
  /** 1-based column, when known. */
  offset?: number | null;
  message: string;
  /** Python exception class, e.g. `SyntaxError`, `ValueError`. */
  kind?: string;
}

export type CompileOutcome =
  | { ok: true; pyc: Uint8Array; imports: unknown[] }
  | { ok: false; error: CompileError; imports: unknown[] };

export interface CompilerPoolOptions {
  /** Number of worker processes. @default os.availableParallelism() */
  jobs?: number;
  /** Start the workers on the first `compile()` instead of now (a fully cached run never starts them). @default false */
  lazy?: boolean;
  /**
   * Milliseconds each worker may take to start and answer; then the start fails
   * (ERR_PYTHON_WORKER) and the workers are killed.
   * @default 30000 for a CPython, 120000 for a Pyodide (~2.5 s each on 2 busy cores)
   */
  startTimeout?: number;
}

export interface ProbeOptions {
  /** Working directory of the interpreter (relative paths are resolved against it). @default process.cwd() */
  cwd?: string;
  /**
   * Cache directory: a Pyodide distribution's stdlib is extracted below it
   * (`pyodide-stdlib/`), so that it can be packed as the interpreter's own.
   * @default the pack's default cache directory for `cwd`
   */
  cacheDir?: string;
  /** Milliseconds to wait for the answer. @default 30000 (120000 when a Pyodide must start) */
  timeout?: number;
}

const MIN_VERSION: [number, number] = [3, 8];
const PROBE_TIMEOUT_MS = 30_000;
const PYODIDE_TIMEOUT_MS = 120_000;
const STDERR_LIMIT = 16 * 1024;

/** Where worker.py lives: next to this module, in src/python/ or dist/python/. */
export const workerScript = fileURLToPath(new URL('./python/worker.py', import.meta.url));

/**
 * The Pyodide host script and the Node arguments that run it: dist/pyodide-host.js
 * beside the built module; from the sources (tests, through tsx), the .ts
 * beside this one with tsx's loader.
 */
function pyodideHost(): { script: string; nodeArgs: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { script: here.replace(/index\.ts$/, 'pyodide-host.ts'), nodeArgs: ['--import', import.meta.resolve('tsx')] };
  }
  return { script: fileURLToPath(new URL('./pyodide-host.js', import.meta.url)), nodeArgs: [] };
}

const hint = "pass --build-python <path to a CPython of the stdlib's version, e.g. python3.11>";
const pyodideHint = 'pass --build-python <a Pyodide distribution: the directory of the npm package pyodide, holding pyodide.mjs>';

/**
 * The Pyodide distribution `executable` names (relative to `cwd`), or undefined
 * when it names a program. A directory (or its `pyodide.mjs`) is a
 * distribution; a directory without `pyodide.mjs` is ERR_PYTHON_NOT_FOUND.
 */
export function pyodideDirOf(executable: string, cwd?: string): string | undefined {
  // A bare name is looked up on PATH, never in the working directory.
  if (!executable.includes('/') && !executable.includes(path.sep)) return undefined;
  const target = path.resolve(cwd ?? process.cwd(), executable);
  let stats;
  try {
    stats = statSync(target);
  } catch {
    return undefined; // spawning reports it as not found
  }
  if (stats.isFile() && path.basename(target) === 'pyodide.mjs') return path.dirname(target);
  if (!stats.isDirectory()) return undefined;
  if (!existsSync(path.join(target, 'pyodide.mjs'))) {
    throw new PackError(
      'ERR_PYTHON_NOT_FOUND',
      `Build interpreter "${executable}" is a directory without pyodide.mjs: neither a CPython executable nor a Pyodide distribution.`,
      pyodideHint,
    );
  }
  return target;
}

/** Same rule as options.ts's defaultCacheDir (kept here: options.ts imports this module). */
function defaultCacheDir(cwd: string): string {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'node_modules', '.cache', 'pywasm-assets');
    if (path.dirname(dir) === dir) break;
  }
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'pywasm-assets');
}

/** How a worker process is started. */
interface Launch {
  command: string;
  args: string[];
  /** Names the interpreter in messages. */
  label: string;
  pyodide: boolean;
}

function launchFor(executable: string, cwd: string | undefined, probe: boolean, cacheDir?: string): Launch {
  const dir = pyodideDirOf(executable, cwd);
  if (dir === undefined) {
    return { command: executable, args: ['-E', '-s', '-S', '-B', workerScript, ...(probe ? ['--probe'] : [])], label: executable, pyodide: false };
  }
  const host = pyodideHost();
  const stdlibCache = probe ? ['--stdlib-cache', path.join(cacheDir ?? defaultCacheDir(cwd ?? process.cwd()), 'pyodide-stdlib')] : [];
  return {
    command: process.execPath,
    args: [...host.nodeArgs, host.script, dir, ...(probe ? ['--probe'] : []), ...stdlibCache],
    label: `Pyodide at ${dir}`,
    pyodide: true,
  };
}

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

/**
 * sha256 over the worker scripts; changes when worker.py or imports.py change.
 * For a Pyodide, also over the host script and the Pyodide release.
 */
function workerDigest(pyodide?: string): string {
  const hash = createHash('sha256');
  const files = ['worker.py', 'imports.py'].map((name) => [name, fileURLToPath(new URL(`./python/${name}`, import.meta.url))]);
  if (pyodide !== undefined) files.push(['pyodide-host', pyodideHost().script]);
  for (const [name, file] of files) {
    hash.update(name + '\0');
    if (existsSync(file)) hash.update(readFileSync(file));
    hash.update('\0');
  }
  if (pyodide !== undefined) hash.update(`pyodide ${pyodide}\0`);
  return hash.digest('hex');
}

// --- one worker process ----------------------------------------------------

interface Frame {
  header: any;
  payload: Buffer;
}

function encodeFrame(header: unknown, payload?: Uint8Array[]): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length, 0);
  return [head, json, ...(payload ?? []).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))];
}

/** Payload size of a response: compile answers carry their pycs. */
function payloadSize(header: any): number {
  if (!Array.isArray(header?.results)) return 0;
  let total = 0;
  for (const r of header.results) total += Number(r.pyc_size) || 0;
  return total;
}

class Worker {
  readonly child: ChildProcess;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: Array<{ resolve: (frame: Frame) => void; reject: (error: Error) => void }> = [];
  private stderr = '';
  private failure: PackError | undefined;
  readonly exited: Promise<void>;
  inFlight = 0;

  private readonly executable: string;

  /** `launch`: see launchFor(); a probe only answers `info` (it skips loading what compiling needs). */
  constructor(private readonly launch: Launch, cwd: string | undefined) {
    this.executable = launch.label;
    this.child = spawn(launch.command, launch.args, {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < STDERR_LIMIT) this.stderr += chunk.toString('utf8');
    });
    // EPIPE when the worker died: the exit handler reports it.
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        this.fail(this.startError(error));
        resolve();
      });
      this.child.on('close', (code, signal) => {
        {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const stderr = this.stderr.trim();
          this.fail(
            new PackError(
              'ERR_PYTHON_WORKER',
              `Build interpreter worker (${this.executable}) ${how}${stderr ? `:\n${stderr}` : '.'}`,
              this.launch.pyodide
                ? 'check that the directory is a complete Pyodide distribution (reinstall the npm package pyodide); run again with --jobs 1 to narrow it down'
                : 'this is a bug in pywasm-assets or the interpreter; run again with --jobs 1 to narrow it down',
            ),
          );
        }
        resolve();
      });
    });
  }

  get stderrText(): string {
    return this.stderr;
  }

  private startError(error: NodeJS.ErrnoException): PackError {
    const message =
      error.code === 'ENOENT'
        ? `Build interpreter "${this.executable}" was not found.`
        : `Build interpreter "${this.executable}" could not be started (${error.code ?? error.message}).`;
    return new PackError('ERR_PYTHON_NOT_FOUND', message, hint, { cause: error });
  }

  /** Ends the process now (a start that timed out or failed); resolves once it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The first failure sticks (a spawn error is followed by 'close'); pending requests get it. */
  private fail(error: PackError): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(this.failure);
  }

  get failed(): PackError | undefined {
    return this.failure;
  }

  request(header: unknown, payload?: Uint8Array[]): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Frame>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      for (const part of encodeFrame(header, payload)) this.child.stdin!.write(part);
    });
  }

  private take(size: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= size) {
      const out = first.subarray(0, size);
      if (first.length === size) this.chunks.shift();
      else this.chunks[0] = first.subarray(size);
      this.buffered -= size;
      return out;
    }
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.chunks[0];
      const n = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.buffered -= size;
    return out;
  }

  private peekUInt32(): number {
    const head = this.chunks[0].length >= 4 ? this.chunks[0] : Buffer.concat(this.chunks, 4);
    return head.readUInt32BE(0);
  }

  private header: any = undefined;
  private headerDone = false;

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (!this.headerDone) {
        if (this.buffered < 4) return;
        const size = this.peekUInt32();
        if (this.buffered < 4 + size) return;
        this.take(4);
        const text = this.take(size).toString('utf8');
        try {
          this.header = JSON.parse(text);
        } catch {
          this.fail(
            new PackError('ERR_PYTHON_WORKER', `Build interpreter worker (${this.executable}) sent a malformed answer.`),
          );
          this.child.kill();
          return;
        }
        this.headerDone = true;
      }
      const size = payloadSize(this.header);
      if (this.buffered < size) return;
      const payload = size > 0 ? this.take(size) : Buffer.alloc(0);
      const header = this.header;
      this.header = undefined;
      this.headerDone = false;
      const waiter = this.pending.shift();
      waiter?.resolve({ header, payload });
    }
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

function parseInfo(executable: string, header: any, cwd: string | undefined): InterpreterInfo {
  const vi = header?.version_info;
  if (!Array.isArray(vi) || typeof header.magic !== 'number') {
    throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" did not answer like a CPython ${MIN_VERSION.join('.')}+ interpreter.`, hint);
  }
  const pyodide = typeof header.pyodide === 'string' ? header.pyodide : undefined;
  return {
    executable,
    resolved: String(header.executable ?? executable),
    version: String(header.version),
    versionInfo: [vi[0], vi[1], vi[2]],
    magic: header.magic,
    magicHex: String(header.magic_hex),
    implementation: String(header.implementation),
    cacheTag: String(header.cache_tag),
    workerDigest: workerDigest(pyodide),
    stdlib: typeof header.stdlib === 'string' ? header.stdlib : undefined,
    cwd,
    ...(pyodide !== undefined ? { pyodide } : {}),
  };
}

/** Probes started ahead by prefetchInterpreter, by cwd and executable. */
const prefetched = new Map<string, Promise<InterpreterInfo>>();
const probeKey = (executable: string, cwd: string | undefined) => `${cwd ?? process.cwd()}\0${executable}`;

/**
 * Starts probing `executable` now, for a later probeInterpreter() of the same
 * executable and cwd to take the answer: the CLI calls it before loading its
 * modules, so the interpreter's start-up (slow through launchers such as
 * pyenv's shims) overlaps theirs. An answer nobody takes is just dropped.
 */
export function prefetchInterpreter(executable: string, cwd?: string): void {
  const key = probeKey(executable, cwd);
  if (prefetched.has(key)) return;
  const probing = probeNow(executable, { cwd });
  probing.catch(() => {}); // reported to whoever takes it
  prefetched.set(key, probing);
}

/**
 * Starts `executable` once and asks for its version and magic number.
 * Throws ERR_PYTHON_NOT_FOUND when it cannot be started, ERR_PYTHON_VERSION when
 * it is not CPython 3.8 or later.
 *
 * A Pyodide distribution (see pyodideDirOf) is answered from its files when
 * they state the version (src/pyodide-host.ts), without starting it; its
 * `stdlib` is its python_stdlib.zip extracted below `cacheDir`. (A prefetched
 * answer is taken whatever `cacheDir` says.)
 */
export function probeInterpreter(executable: string, options: ProbeOptions = {}): Promise<InterpreterInfo> {
  const key = probeKey(executable, options.cwd);
  const ahead = prefetched.get(key);
  if (ahead) {
    prefetched.delete(key);
    return ahead;
  }
  return probeNow(executable, options);
}

async function probeNow(executable: string, options: ProbeOptions): Promise<InterpreterInfo> {
  const launch = launchFor(executable, options.cwd, true, options.cacheDir);
  const limit = options.timeout ?? (launch.pyodide ? PYODIDE_TIMEOUT_MS : PROBE_TIMEOUT_MS);
  const worker = new Worker(launch, options.cwd);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" did not answer within ${limit / 1000} s.`, hint));
      worker.child.kill('SIGKILL');
    }, limit);
  });
  let frame: Frame;
  try {
    frame = await Promise.race([worker.request({ op: 'info' }), timeout]);
  } catch (error) {
    await worker.exited;
    if (error instanceof PackError && error.code === 'ERR_PYTHON_WORKER') {
      // It started but died before answering: python2, too old, not Python at all; a broken Pyodide.
      const stderr = worker.stderrText.trim().split('\n').slice(-3).join('\n');
      const what = launch.pyodide ? `(${launch.label}) could not start` : `is not a usable CPython ${MIN_VERSION.join('.')}+`;
      throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" ${what}${stderr ? `:\n${stderr}` : '.'}`, launch.pyodide ? pyodideHint : hint, { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  await worker.close();
  const info = parseInfo(executable, frame.header, options.cwd);
  if (info.implementation !== 'cpython') {
    throw new PackError(
      'ERR_PYTHON_VERSION',
      `Build interpreter "${executable}" is ${info.implementation} ${info.version}; pywasm-assets needs CPython (its pycs are what CPython for WebAssembly loads).`,
      hint,
    );
  }
  const [major, minor] = info.versionInfo;
  if (major !== MIN_VERSION[0] || minor < MIN_VERSION[1]) {
    throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" is Python ${info.version}; pywasm-assets needs CPython ${MIN_VERSION.join('.')} or later.`, hint);
  }
  return info;
}

// --- the pool --------------------------------------------------------------

interface Batch {
  indices: number[];
  bytes: number;
}

interface Task {
  batch: Batch;
  items: CompileItem[];
  settings: CompileSettings;
  done: (worker: Worker, frame: Frame) => void;
  failed: (error: Error) => void;
}

/** Batches that keep every worker busy to the end: largest sources first, ~16 batches per worker. */
function makeBatches(items: CompileItem[], jobs: number): Batch[] {
  const total = items.reduce((sum, item) => sum + item.source.byteLength, 0);
  const limit = Math.min(512 * 1024, Math.max(16 * 1024, Math.ceil(total / (jobs * 16))));
  const order = items.map((_, i) => i).sort((a, b) => items[b].source.byteLength - items[a].source.byteLength || a - b);
  const batches: Batch[] = [];
  let current: Batch = { indices: [], bytes: 0 };
  for (const i of order) {
    const size = items[i].source.byteLength;
    if (current.indices.length > 0 && (current.bytes + size > limit || current.indices.length >= 64)) {
      batches.push(current);
      current = { indices: [], bytes: 0 };
    }
    current.indices.push(i);
    current.bytes += size;
  }
  if (current.indices.length > 0) batches.push(current);
  return batches;
}

function checkSettings(settings: CompileSettings): void {
  if (![0, 1, 2].includes(settings.optimize)) {
    throw new PackError('ERR_OPTION', `optimize must be 0, 1 or 2, got ${JSON.stringify(settings.optimize)}.`);
  }
  if (!['unchecked-hash', 'checked-hash', 'timestamp'].includes(settings.invalidation)) {
    throw new PackError('ERR_OPTION', `invalidation must be unchecked-hash, checked-hash or timestamp, got ${JSON.stringify(settings.invalidation)}.`);
  }
  const mtime = settings.mtime ?? 0;
  if (!Number.isInteger(mtime) || mtime < 0) {
    throw new PackError('ERR_OPTION', `mtime must be a non-negative integer (seconds), got ${JSON.stringify(settings.mtime)}.`);
  }
}

/**
 * Long-lived build-interpreter workers fed in batches over pipes.
 *
 * ```ts
 * const pool = await CompilerPool.start(await probeInterpreter('python3'), { jobs: 2 });
 * try { outcomes = await pool.compile(items, { optimize: 0, invalidation: 'unchecked-hash' }); }
 * finally { await pool.close(); }
 * ```
 */
export class CompilerPool {
  readonly jobs: number;
  private workers: Worker[] = [];
  private queue: Task[] = [];
  private closed = false;

  private constructor(readonly info: InterpreterInfo, jobs: number, private readonly startTimeout?: number) {
    this.jobs = jobs;
  }

  static async start(info: InterpreterInfo, options: CompilerPoolOptions = {}): Promise<CompilerPool> {
    const jobs = options.jobs ?? availableParallelism();
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new PackError('ERR_OPTION', `jobs must be a positive integer, got ${JSON.stringify(options.jobs)}.`);
    }
    const pool = new CompilerPool(info, jobs, options.startTimeout);
    if (!options.lazy) await pool.spawn();
    return pool;
  }

  /** Number of live worker processes (0 for a lazy pool that has compiled nothing). */
  get size(): number {
    return this.workers.length;
  }

  private starting: Promise<void> | undefined;

  /**
   * Starts a lazy pool's workers now, without waiting for them (compile.ts
   * calls it at the first cache miss, so start-up overlaps the cache reads).
   * A start failure surfaces at the next `compile()`.
   */
  prepare(): void {
    if (this.closed) return;
    this.spawn().catch(() => {});
  }

  private spawn(): Promise<void> {
    this.starting ??= this.startWorkers();
    return this.starting;
  }

  /**
   * Starts the workers with the interpreter's own binary (`sys.executable`)
   * when it reported an absolute one: a launcher such as pyenv's `python3`
   * shim costs ~200 ms per start. If that binary does not work on its own (a
   * wrapper script that sets up the environment), falls back to the name as given.
   */
  private async startWorkers(): Promise<void> {
    const { executable, resolved } = this.info;
    // A Pyodide answers its directory (absolute) as sys.executable: one way to start it.
    if (this.info.pyodide !== undefined) return this.launch(isAbsolute(resolved) ? resolved : executable);
    const direct = resolved !== executable && isAbsolute(resolved) && existsSync(resolved) ? resolved : undefined;
    if (direct) {
      try {
        await this.launch(direct);
        return;
      } catch {
        // launch() has ended its workers: try the name as given.
      }
    }
    await this.launch(executable);
  }

  private async launch(executable: string): Promise<void> {
    const launch = launchFor(executable, this.info.cwd, false);
    const limit = this.startTimeout ?? (launch.pyodide ? PYODIDE_TIMEOUT_MS : PROBE_TIMEOUT_MS);
    this.workers = Array.from({ length: this.jobs }, () => new Worker(launch, this.info.cwd));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PackError('ERR_PYTHON_WORKER', `Build interpreter worker (${launch.label}) did not start within ${limit / 1000} s.`, 'retry on a less busy machine or with fewer --jobs')),
        limit,
      );
    });
    // Wait until each answers, so a broken interpreter fails here, not mid-run;
    // its answer must be the probe's (a Pyodide's probe may not have started it).
    const answered = Promise.all(
      this.workers.map(async (w) => {
        const { header } = await w.request({ op: 'info' });
        const version = typeof header.version === 'string' ? header.version : this.info.version;
        if (header.magic !== this.info.magic || version !== this.info.version) {
          throw new PackError(
            'ERR_PYTHON_WORKER',
            `Build interpreter worker (${launch.label}) reports Python ${version} with magic ${header.magic}, expected ${this.info.version} with magic ${this.info.magic}.`,
          );
        }
      }),
    );
    try {
      await Promise.race([answered, timeout]);
    } catch (error) {
      answered.catch(() => {});
      // None may outlive a failed start (a hung one would never see its stdin close).
      const workers = this.workers;
      this.workers = [];
      await Promise.all(workers.map((w) => w.kill()));
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Compiles `items` (results in the same order). Per-file failures are
   * outcomes with `ok: false`; a worker crash rejects with ERR_PYTHON_WORKER.
   * `onResult` sees each outcome as soon as its batch is back (compile.ts
   * compresses there, overlapping with the workers).
   */
  async compile(
    items: CompileItem[],
    settings: CompileSettings,
    onProgress?: (done: number, total: number) => void,
    onResult?: (index: number, outcome: CompileOutcome) => void,
  ): Promise<CompileOutcome[]> {
    if (this.closed) throw new PackError('ERR_PYTHON_WORKER', 'The compiler pool is closed.');
    checkSettings(settings);
    const outcomes: CompileOutcome[] = new Array(items.length);
    if (items.length === 0) return outcomes;
    await this.spawn();
    const batches = makeBatches(items, this.jobs);
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      let remaining = batches.length;
      let failed = false;
      for (const batch of batches) {
        this.queue.push({
          batch,
          items,
          settings,
          done: (_worker, frame) => {
            if (failed) return;
            try {
              this.unpack(batch, frame, outcomes, onResult);
            } catch (error) {
              failed = true;
              reject(error);
              return;
            }
            done += batch.indices.length;
            onProgress?.(done, items.length);
            if (--remaining === 0) resolve();
          },
          failed: (error) => {
            if (failed) return;
            failed = true;
            // Drop this call's queued batches; other calls keep theirs.
            this.queue = this.queue.filter((t) => t.items !== items);
            reject(error);
          },
        });
      }
      this.pump();
    });
    return outcomes;
  }

  private unpack(batch: Batch, frame: Frame, outcomes: CompileOutcome[], onResult?: (index: number, outcome: CompileOutcome) => void): void {
    const results = frame.header.results;
    if (!Array.isArray(results) || results.length !== batch.indices.length) {
      throw new PackError('ERR_PYTHON_WORKER', `Build interpreter worker (${this.info.executable}) answered ${results?.length} results for ${batch.indices.length} files.`);
    }
    let offset = 0;
    batch.indices.forEach((index, k) => {
      const r = results[k];
      const imports: unknown[] = Array.isArray(r.imports) ? r.imports : [];
      let outcome: CompileOutcome;
      if (r.ok) {
        const pyc = new Uint8Array(frame.payload.buffer, frame.payload.byteOffset + offset, r.pyc_size);
        offset += r.pyc_size;
        outcome = { ok: true, pyc, imports };
      } else {
        const e = r.error ?? {};
        outcome = {
          ok: false,
          error: { line: e.line ?? null, offset: e.offset ?? null, message: String(e.message ?? 'compile failed'), kind: e.kind },
          imports,
        };
      }
      outcomes[index] = outcome;
      onResult?.(index, outcome);
    });
  }

  /** Gives queued batches to workers; two in flight each so a worker never waits for a round trip. */
  private pump(): void {
    for (const worker of this.workers) {
      if (worker.failed) continue;
      while (worker.inFlight < 2 && this.queue.length > 0) {
        const task = this.queue.shift()!;
        worker.inFlight++;
        const { batch, items, settings } = task;
        const header = {
          op: 'compile',
          id: 0,
          optimize: settings.optimize,
          invalidation: settings.invalidation,
          mtime: settings.mtime ?? 0,
          imports: settings.imports ?? true,
          items: batch.indices.map((i) => ({ filename: items[i].filename, size: items[i].source.byteLength })),
        };
        worker.request(header, batch.indices.map((i) => items[i].source)).then(
          (frame) => {
            worker.inFlight--;
            task.done(worker, frame);
            this.pump();
          },
          (error) => {
            worker.inFlight--;
            task.failed(error);
          },
        );
      }
    }
    if (this.queue.length > 0 && this.workers.every((w) => w.failed)) {
      const error = this.workers[0].failed!;
      for (const task of this.queue.splice(0)) task.failed(error);
    }
  }

  /** Ends the workers (closes their stdin, waits for them to exit). */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.close()));
  }
}
