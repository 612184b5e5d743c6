/**
 * One worker process of the build interpreter, and the framing of its pipes:
 * both ways `4-byte big-endian header length | JSON header | payload`, where a
 * compile answer's payload is its pycs back to back (python/worker.py speaks
 * the other end; pyodide-host.ts relays it for a Pyodide). Requests are
 * answered in order, so the pending requests are a queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PackError } from '../errors.js';
import { pythonHint, type Launch } from './launch.js';

/** How much of a worker's stderr is kept for messages. */
const STDERR_LIMIT = 16 * 1024;

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
    return new PackError('ERR_PYTHON_NOT_FOUND', message, pythonHint, { cause: error });
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
