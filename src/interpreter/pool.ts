/**
 * The compiler pool: N long-lived workers for a run, fed batches of raw source
 * bytes, two batches in flight per worker. Batches are cut largest sources
 * first so that every worker stays busy to the end.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { checkInterrupted, interrupted, PackError } from '../errors.js';
import type { PackInvalidation } from '../types.js';
import { launchFor, PROBE_TIMEOUT_MS, PYODIDE_TIMEOUT_MS } from './launch.js';
import type { InterpreterInfo } from './probe.js';
import { Worker, type Frame } from './worker.js';

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
   * Run the import scanner (python/imports.py) on each module. Costs about
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

/**
 * The most workers started per core: a compile keeps its core busy, so more only
 * queue for the same CPUs while each holds its memory (~10-30 MB for a CPython,
 * ~150 MB for a Pyodide).
 */
export const JOBS_PER_CORE = 4;
/** The largest `jobs` accepted: beyond it the value is a mistake (`--jobs 1e9`), not a wish. */
export const MAX_JOBS = 256;

/** Milliseconds a CPython worker may send nothing while it has work (a batch takes well under 1 s). */
export const IDLE_TIMEOUT_MS = 60_000;
/** Milliseconds a Pyodide worker may send nothing while it has work (several times slower than a CPython). */
export const PYODIDE_IDLE_TIMEOUT_MS = 300_000;

/** The workers `jobs` asks for, at most JOBS_PER_CORE per core of this machine. */
export function workerCount(jobs: number): number {
  return Math.min(jobs, JOBS_PER_CORE * availableParallelism());
}

export interface CompilerPoolOptions {
  /**
   * Column ranges (PEP 657) in the code objects; false starts the workers with
   * `-X no_debug_ranges` (and checks that their compiler obeys). @default true
   */
  debugRanges?: boolean;
  /**
   * Number of worker processes: an integer from 1 to MAX_JOBS (256). At most
   * JOBS_PER_CORE (4) per core are started, and never more than there are files
   * to compile.
   * @default os.availableParallelism()
   */
  jobs?: number;
  /** Start the workers on the first `compile()` instead of now (a fully cached run never starts them). @default false */
  lazy?: boolean;
  /**
   * Milliseconds each worker may take to start and answer; then the start fails
   * (ERR_PYTHON_WORKER) and the workers are killed.
   * @default 30000 for a CPython, 120000 for a Pyodide (~2.5 s each on 2 busy cores)
   */
  startTimeout?: number;
  /**
   * Milliseconds a worker with work may send nothing (no answer, no byte of one)
   * before it is taken as stuck: the compile then fails (ERR_PYTHON_WORKER, naming
   * the worker and its files) and the worker is killed with its process group.
   * It measures progress, not the whole compile, so a large stdlib never trips it.
   * @default 60000 for a CPython, 300000 for a Pyodide
   */
  idleTimeout?: number;
  /**
   * Once aborted, every worker is killed with its process group and the pending
   * compiles reject with ERR_INTERRUPTED; no worker starts after.
   */
  signal?: AbortSignal;
}

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

/** `compiling a.py, b.py, c.py and 9 other files`: what a batch is, for messages. */
function compiling(paths: string[]): string {
  const named = paths.slice(0, 3).join(', ');
  const rest = paths.length - 3;
  return `compiling ${named}${rest > 0 ? ` and ${rest} other file${rest > 1 ? 's' : ''}` : ''}`;
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

  private constructor(readonly info: InterpreterInfo, jobs: number, private readonly options: CompilerPoolOptions) {
    this.jobs = jobs;
  }

  /** Whether the pycs carry column ranges (the workers run without `-X no_debug_ranges`). */
  get debugRanges(): boolean {
    return this.options.debugRanges ?? true;
  }

  static async start(info: InterpreterInfo, options: CompilerPoolOptions = {}): Promise<CompilerPool> {
    const jobs = options.jobs ?? availableParallelism();
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) {
      throw new PackError('ERR_OPTION', `jobs must be an integer from 1 to ${MAX_JOBS}, got ${JSON.stringify(options.jobs)}.`);
    }
    checkInterrupted(options.signal);
    const pool = new CompilerPool(info, workerCount(jobs), options);
    options.signal?.addEventListener('abort', pool.onAbort, { once: true });
    if (!options.lazy) {
      try {
        await pool.spawn(pool.jobs);
      } catch (error) {
        options.signal?.removeEventListener('abort', pool.onAbort);
        throw error;
      }
    }
    return pool;
  }

  /** The `signal` was aborted: every worker is ended now, its requests fail. */
  private readonly onAbort = (): void => {
    const error = interrupted(this.options.signal!);
    for (const worker of this.workers) worker.interrupt(error);
  };

  /** Number of live worker processes (0 for a lazy pool that has compiled nothing). */
  get size(): number {
    return this.workers.length;
  }

  private starting: Promise<void> | undefined;

  /**
   * Starts a lazy pool's workers now, without waiting for them (compile.ts
   * calls it at the first cache miss, so start-up overlaps the cache reads).
   * `files`: at most that many will be compiled, so no more workers are started.
   * A start failure surfaces at the next `compile()`.
   */
  prepare(files = Infinity): void {
    if (this.closed) return;
    this.spawn(files).catch(() => {});
  }

  /** Starts min(jobs, files) workers, once. */
  private spawn(files: number): Promise<void> {
    this.starting ??= this.startWorkers(Math.max(1, Math.min(this.jobs, files)));
    return this.starting;
  }

  /**
   * Starts the workers with the interpreter's own binary (`sys.executable`)
   * when it reported an absolute one: a launcher such as pyenv's `python3`
   * shim costs ~200 ms per start. If that binary does not work on its own (a
   * wrapper script that sets up the environment), falls back to the name as given.
   */
  private async startWorkers(count: number): Promise<void> {
    const { executable, resolved } = this.info;
    // A Pyodide answers its directory (absolute) as sys.executable: one way to start it.
    if (this.info.pyodide !== undefined) return this.launch(isAbsolute(resolved) ? resolved : executable, count);
    const direct = resolved !== executable && isAbsolute(resolved) && existsSync(resolved) ? resolved : undefined;
    if (direct) {
      try {
        await this.launch(direct, count);
        return;
      } catch {
        // launch() has ended its workers: try the name as given (unless they ended because the run was interrupted).
        checkInterrupted(this.options.signal);
      }
    }
    await this.launch(executable, count);
  }

  private async launch(executable: string, count: number): Promise<void> {
    checkInterrupted(this.options.signal);
    const launch = launchFor(executable, this.info.cwd, false, undefined, this.debugRanges ? [] : ['no_debug_ranges']);
    const limit = this.options.startTimeout ?? (launch.pyodide ? PYODIDE_TIMEOUT_MS : PROBE_TIMEOUT_MS);
    this.workers = Array.from({ length: count }, () => new Worker(launch, this.info.cwd));
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
        // A wrapper script that drops the interpreter's options would compile other bytes.
        if (!this.debugRanges && header.debug_ranges === true) {
          throw new PackError(
            'ERR_PYTHON_WORKER',
            `Build interpreter worker (${launch.label}) was started with -X no_debug_ranges but still writes column ranges into code objects (a wrapper script that does not pass its arguments on?).`,
            'Pass --build-python <the interpreter itself>, or --debug-ranges.',
          );
        }
      }),
    );
    try {
      await Promise.race([answered, timeout]);
      const idle = this.options.idleTimeout ?? (launch.pyodide ? PYODIDE_IDLE_TIMEOUT_MS : IDLE_TIMEOUT_MS);
      for (const w of this.workers) w.idleTimeout = idle;
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
    checkInterrupted(this.options.signal);
    checkSettings(settings);
    const outcomes: CompileOutcome[] = new Array(items.length);
    if (items.length === 0) return outcomes;
    await this.spawn(items.length);
    const batches = makeBatches(items, this.workers.length || 1);
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
        worker.request(header, batch.indices.map((i) => items[i].source), compiling(batch.indices.map((i) => items[i].path))).then(
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
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.close()));
  }
}
