/**
 * One worker process of the build interpreter, and the framing of its pipes:
 * both ways `4-byte big-endian header length | JSON header | payload`, where a
 * compile answer's payload is its pycs back to back (python/worker.py speaks
 * the other end; pyodide-host.ts relays it for a Pyodide). Requests are
 * answered in order, so the pending requests are a queue.
 *
 * Each worker runs in its own process group (spawned detached), and is always
 * ended with that whole group: a `--build-python` that is a wrapper script
 * starts the interpreter as its child, and a child that outlives the script
 * would keep the pipes open, so that the run never ends. Because the group is
 * not the terminal's, a Ctrl-C no longer reaches the workers by itself:
 * killWorkers() ends them all, and the process's exit does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PackError } from '../errors.js';
import { pythonHint, type Launch } from './launch.js';

/** How much of a worker's stderr is kept for messages. */
const STDERR_LIMIT = 16 * 1024;

/** Process groups exist on POSIX only; elsewhere a worker is ended alone. */
const GROUPS = process.platform !== 'win32';

/** The workers whose processes may still be running, for killWorkers(). */
const live = new Set<Worker>();

/**
 * Kills every worker process of this Node process, with every process each
 * started (SIGKILL to their process groups), at once: the pending requests
 * then fail, and so does the run that made them.
 */
export function killWorkers(): void {
  for (const worker of live) worker.killGroup();
}

let exitHook = false;

/** One answer: its JSON header and the payload bytes that follow it. */
export interface Frame {
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

/** A worker process: requests go down its stdin, answers come back on its stdout in the same order. */
export class Worker {
  readonly child: ChildProcess;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: Array<{ resolve: (frame: Frame) => void; reject: (error: Error) => void }> = [];
  private stderr = '';
  private failure: PackError | undefined;
  /** Resolves once the process has ended and its pipes are closed. */
  readonly exited: Promise<void>;
  /** Resolves once the process itself has ended (a child it started may still hold the pipes). */
  private readonly stopped: Promise<void>;
  inFlight = 0;
  /**
   * Milliseconds a worker with a request pending may send nothing before it is
   * taken as stuck (stopped, deadlocked): its requests then fail and it is
   * killed with its process group. 0: no limit (a probe has its own timeout).
   */
  idleTimeout = 0;
  /** performance.now() of the last sign of progress: an answer's bytes, or a request to an idle worker. */
  private lastActivity = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** What each pending request is doing, for messages (e.g. `compiling json/decoder.py`). */
  private doing: string[] = [];

  private readonly executable: string;

  /** `launch`: see launchFor(); a probe only answers `info` (it skips loading what compiling needs). */
  constructor(private readonly launch: Launch, cwd: string | undefined) {
    this.executable = launch.label;
    this.child = spawn(launch.command, launch.args, {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: GROUPS,
      windowsHide: true,
    });
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', killWorkers);
    }
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < STDERR_LIMIT) this.stderr += chunk.toString('utf8');
    });
    // EPIPE when the worker died: the exit handler reports it.
    this.child.stdin!.on('error', () => {});
    this.stopped = new Promise((resolve) => {
      this.child.on('exit', () => resolve());
      this.child.on('error', () => resolve());
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        live.delete(this);
        this.fail(this.startError(error));
        resolve();
      });
      this.child.on('close', (code, signal) => {
        live.delete(this);
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
    return new PackError('ERR_PYTHON_NOT_FOUND', message, pythonHint, { cause: error });
  }

  /** SIGKILL to the worker's process group (the worker and what it started), now; never throws. */
  killGroup(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      if (GROUPS) process.kill(-pid, 'SIGKILL');
      else this.child.kill('SIGKILL');
    } catch {
      // ESRCH: nothing of it is left
    }
  }

  /**
   * Once the process has ended: kills what it left in its group and lets go of
   * the pipes (a process that left the group may still hold them), so that
   * `exited` resolves.
   */
  private async release(): Promise<void> {
    await this.stopped;
    this.killGroup();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) stream?.destroy();
    await this.exited;
  }

  /** Ends the process now, with its process group (a start that timed out or failed); resolves once it is gone. */
  async kill(): Promise<void> {
    this.killGroup();
    await this.release();
  }

  /** The first failure sticks (a spawn error is followed by 'close'); pending requests get it. */
  private fail(error: PackError): void {
    this.failure ??= error;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const pending = this.pending;
    this.pending = [];
    this.doing = [];
    for (const p of pending) p.reject(this.failure);
  }

  /** Arms the idle check while a request is pending (one timer, re-armed from the last activity). */
  private armIdle(): void {
    if (!this.idleTimeout || this.idleTimer || this.pending.length === 0) return;
    const wait = Math.max(0, this.lastActivity + this.idleTimeout - performance.now());
    this.idleTimer = setTimeout(() => {
      // Checked after the poll phase, so that answers waiting in the pipe (the event
      // loop may have been busy) count before the worker is called stuck.
      setImmediate(() => {
        this.idleTimer = undefined;
        if (this.pending.length === 0 || this.failure) return;
        if (performance.now() - this.lastActivity < this.idleTimeout) return this.armIdle();
        this.stall();
      });
    }, wait);
  }

  /** No progress for `idleTimeout`: fail its requests, kill its group. */
  private stall(): void {
    const seconds = Math.round(this.idleTimeout / 100) / 10;
    const label = this.executable;
    this.fail(
      new PackError(
        'ERR_PYTHON_WORKER',
        `Build interpreter worker (${label}, pid ${this.child.pid}) sent nothing for ${seconds} s while ${this.doing[0] ?? 'answering a request'}: it is stuck (stopped, deadlocked or starved), so it was killed with every process it started.`,
        `${this.launch.pyodide ? 'Check that the Pyodide distribution works on its own' : `Check that ${label} compiles these files on its own (${label} -m py_compile <file>)`}; on a slow or overloaded machine allow it more time with PYWASM_WORKER_TIMEOUT=<seconds> (now ${seconds}); --jobs 1 narrows it down.`,
      ),
    );
    void this.kill();
  }

  /** Fails its requests with `error` (ERR_INTERRUPTED) and kills it with its process group. */
  interrupt(error: PackError): void {
    this.fail(error);
    void this.kill();
  }

  get failed(): PackError | undefined {
    return this.failure;
  }

  /** Sends a request; `doing` says what it is, for the message when the worker gets stuck. */
  request(header: unknown, payload?: Uint8Array[], doing = 'answering a request'): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Frame>((resolve, reject) => {
      if (this.pending.length === 0) this.lastActivity = performance.now();
      this.pending.push({ resolve, reject });
      this.doing.push(doing);
      for (const part of encodeFrame(header, payload)) this.child.stdin!.write(part);
      this.armIdle();
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
    this.lastActivity = performance.now();
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
          void this.kill();
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
      this.doing.shift();
      if (this.pending.length === 0) {
        clearTimeout(this.idleTimer);
        this.idleTimer = undefined;
      }
      waiter?.resolve({ header, payload });
    }
  }

  /**
   * Closes its stdin, which ends a worker once it has answered; one that does not end
   * within 5 s is killed. Either way, what it left in its process group is killed.
   */
  async close(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.killGroup(), 5000);
    await this.stopped;
    clearTimeout(timer);
    await this.release();
  }
}
