/**
 * The last results, kept in the cache directory and reused while everything they were
 * made from is the same: a warm pack of an unchanged tree then reads its sources once
 * (to check them) and its outputs from here, instead of deciding, compiling, checking
 * imports and zipping again.
 *
 * A result is filed under a key made of everything the pipeline is given: the resolved
 * options (the build interpreter's answer and the build facts included; not `out`, which
 * the outputs do not depend on: they are kept relative to it), the rules, the stdlib's
 * walk, and the code that runs (its files' stamps). What the pipeline then reads is
 * recorded through a wrapped `fs`: each file's contents (sha256), each directory's
 * entries, each stat's kind, each link. A result is reused only if every one of those
 * reads gives the same again (contents: a cache may make a run faster, never different),
 * and only if its outputs come back with the checksum they were written with (CRC-32 and
 * length). A file whose stamp (device, inode, size, mtime and ctime, taken before it was
 * read) is unchanged is not read again to be hashed, as git does with its index: no tool
 * sets a ctime back (`cp -a`, `tar` and `rsync -a` restore mtimes only), and a stamp from
 * the last RACY_MS before the run is never kept, so a change within the clock's
 * granularity cannot hide behind one. A read the wrapper does not know leaves no result
 * to reuse.
 *
 * Best effort, like the other caches: a missing, damaged or foreign entry is a miss,
 * and failing to write one never fails a pack.
 */
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { CODE_DIR, RULES_DIR } from '../package-paths.js';
import { byLastUse, markUsed } from './cache-dir.js';
import { bestEffortTempOwner, removeStaleTemps, writeFileBestEffort } from '../output/write.js';
import { stage, type Context } from '../pipeline/context.js';
import { readRegularFile } from '../read-file.js';
import { fileStamp, RACY_MS } from './interpreter-identity.js';
import type { PackFs, PackWarning } from '../types.js';

export const RESULTS_DIR = 'results-v1';
const FORMAT = 'pywasm-assets result 1';
/** Results kept (one per set of inputs, e.g. per build root and options). */
const MAX_RESULTS = 4;

/** An output a result keeps: what the pipeline would write (its `value` is plain data, kept as JSON). */
export interface KeptOutput {
  path: string;
  kind: string;
  of?: string;
  encoding?: string;
  data: Uint8Array | string;
}

/** One output of a stored result: its place relative to `out`, and where its bytes are in the blob. */
export interface StoredOutput {
  path: string;
  kind: string;
  of?: string;
  encoding?: string;
  offset: number;
  bytes: number;
}

interface StoredResult<T> {
  format: typeof FORMAT;
  key: string;
  /** [op \0 path, observation] for every read of the run that made it. */
  reads: [string, string][];
  /** [path, stamp] of files read whole, taken before they were read (not for files changed just before the run). */
  stamps: [string, string][];
  /** The result, its output bytes aside. */
  value: T;
  outputs: StoredOutput[];
  /** Checksum of the blob (all outputs' bytes, one after the other): see blobChecksum. */
  blob: string;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * The stored outputs' checksum, against damage (a cut write, a flipped bit), as a zip's
 * entries have theirs: CRC-32 and length (~1 ms for the 7 MB of a checkout's outputs, where
 * sha256 takes ~6), or sha256 on a Node without zlib.crc32 (before 20.15).
 */
function blobChecksum(parts: Uint8Array[]): string {
  const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  if (crc32) return `crc32:${parts.reduce((crc, p) => crc32(p, crc), 0).toString(16)}:${bytes}`;
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return `sha256:${hash.digest('hex')}`;
}

/** What `stat` says a path is, for an observation (undefined: `throwIfNoEntry: false` found nothing). */
function kindOf(stat: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink?(): boolean } | undefined): string {
  if (!stat) return '!ENOENT';
  return stat.isSymbolicLink?.() ? 'l' : stat.isFile() ? 'f' : stat.isDirectory() ? 'd' : 'o';
}
const failure = (error: unknown) => `!${(error as NodeJS.ErrnoException)?.code ?? 'error'}`;

/** The observation `op` makes of `file` now, as the recorder would have recorded it. */
export function observe(fs: PackFs, op: string, file: string): string {
  try {
    switch (op) {
      case 'read':
        return sha256(readRegularFile(fs, file, Infinity));
      case 'stat':
        return kindOf(fs.statSync(file));
      case 'lstat':
        return kindOf(fs.lstatSync(file));
      case 'exists':
        return String(fs.existsSync(file));
      case 'dir':
        return fs
          .readdirSync(file, { withFileTypes: true })
          .map((e) => `${String(e.name)}/${kindOf(e)}`)
          .sort()
          .join('\0');
      case 'realpath':
        return String(fs.realpathSync(file));
      case 'readlink':
        return String(fs.readlinkSync(file));
      default:
        return '?';
    }
  } catch (error) {
    return failure(error);
  }
}

/**
 * fs methods passed through unrecorded: they only write, or (fstatSync) look at a file
 * already opened, whose contents are recorded. Any other method not handled below
 * (copyFileSync reads, readvSync, the callback and promise forms) leaves the run unrecorded.
 */
const UNRECORDED = new Set(['writeFileSync', 'writeSync', 'renameSync', 'mkdirSync', 'rmSync', 'unlinkSync', 'utimesSync', 'fstatSync', 'appendFileSync', 'mkdtempSync', 'chmodSync']);

/**
 * `fs`, wrapped to record what is read through it (paths below `ignore`, the cache, are
 * not inputs). `complete` turns false at any read it cannot observe again.
 */
export class ReadRecorder {
  readonly reads = new Map<string, string>();
  /** Stamps of the files read, by path; none for a file changed within RACY_MS before the run. */
  readonly stamps = new Map<string, string>();
  /** Files changed since (ns since the epoch) get no stamp. */
  private readonly racy = BigInt(Date.now() - RACY_MS) * 1_000_000n;
  complete = true;
  readonly fs: PackFs;
  private readonly open = new Map<number, { file: string; hash: ReturnType<typeof createHash> | undefined }>();

  /**
   * @param ignore directories whose reads are not inputs (the cache), except below `inputs`
   *   (a Pyodide's stdlib is extracted into the cache, and is read as the stdlib)
   */
  constructor(
    private readonly base: PackFs,
    private readonly ignore: string[],
    private readonly inputs: string[] = [],
  ) {
    const recorder = this;
    this.fs = new Proxy(base, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name === 'promises') recorder.complete = false; // reads it cannot see
        if (typeof value !== 'function' || typeof name !== 'string') return value;
        return (...args: unknown[]) => recorder.call(name, value.bind(target), args);
      },
    });
  }

  private ignored(file: string): boolean {
    const abs = path.resolve(file);
    const below = (dir: string) => abs === dir || abs.startsWith(dir + path.sep);
    return this.ignore.some(below) && !this.inputs.some(below);
  }

  private note(op: string, file: unknown, observation: string): void {
    if (typeof file !== 'string') {
      this.complete = false; // a Buffer, URL or fd path: not worth observing again
      return;
    }
    if (this.ignored(file)) return;
    const key = `${op}\0${path.resolve(file)}`;
    const before = this.reads.get(key);
    if (before !== undefined && before !== observation) this.complete = false; // it changed while the run read it
    this.reads.set(key, observation);
  }

  /** Keeps the stamp of `file` (stat `s`, taken before it was read) unless it changed too recently. */
  private stamp(file: string, s: nodeFs.BigIntStats | undefined): void {
    if (!s || this.ignored(file)) return;
    if (s.mtimeNs < this.racy && s.ctimeNs < this.racy) this.stamps.set(path.resolve(file), fileStamp(s));
  }

  private statOf(file: unknown): nodeFs.BigIntStats | undefined {
    try {
      return typeof file === 'string' ? (this.base.statSync(file, { bigint: true }) as nodeFs.BigIntStats) : undefined;
    } catch {
      return undefined;
    }
  }

  private call(name: string, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const [file] = args;
    const attempt = (op: string, seen: (result: any) => string) => {
      let result;
      try {
        result = fn(...args);
      } catch (error) {
        this.note(op, file, failure(error));
        throw error;
      }
      this.note(op, file, seen(result));
      return result;
    };
    switch (name) {
      case 'readFileSync': {
        const before = this.statOf(file);
        const data = attempt('read', (d) => sha256(d));
        this.stamp(file as string, before);
        return data;
      }
      case 'statSync':
        return attempt('stat', kindOf);
      case 'lstatSync':
        return attempt('lstat', kindOf);
      case 'existsSync':
        return attempt('exists', String);
      case 'realpathSync':
        return attempt('realpath', String);
      case 'readlinkSync':
        return attempt('readlink', String);
      case 'readdirSync': {
        const result = fn(...args);
        if (typeof file === 'string' && !this.ignored(file)) this.note('dir', file, observe(this.base, 'dir', file));
        return result;
      }
      case 'openSync': {
        const fd = fn(...args) as number;
        const flags = args[1];
        const reading = flags === undefined || flags === 'r' || (typeof flags === 'number' && (flags & 3) === 0);
        if (typeof file === 'string' && !this.ignored(file)) {
          if (reading) {
            this.open.set(fd, { file, hash: createHash('sha256') });
            let before: nodeFs.BigIntStats | undefined;
            try {
              before = this.base.fstatSync(fd, { bigint: true }) as nodeFs.BigIntStats;
            } catch {
              // no stamp: it is hashed when checked
            }
            this.stamp(file, before);
          } else this.complete = false;
        }
        return fd;
      }
      case 'readSync': {
        const n = fn(...args) as number;
        const entry = this.open.get(args[0] as number);
        if (entry?.hash) {
          const [, buffer, offset, , position] = args as [number, Uint8Array, number, number, number | null | undefined];
          if (position === null || position === undefined) entry.hash.update(buffer.subarray(offset ?? 0, (offset ?? 0) + n));
          else entry.hash = undefined;
        }
        return n;
      }
      case 'closeSync': {
        const entry = this.open.get(args[0] as number);
        this.open.delete(args[0] as number);
        if (entry) {
          if (entry.hash) this.note('read', entry.file, entry.hash.digest('hex'));
          else this.complete = false;
        }
        return fn(...args);
      }
      default:
        if (!UNRECORDED.has(name)) this.complete = false;
        return fn(...args);
    }
  }
}

let codeStamp: string | undefined;

/** File stamps of the code that runs (src/ or dist/) and of the built-in rules. */
function stampOfCode(): string {
  if (codeStamp !== undefined) return codeStamp;
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const entry of nodeFs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(js|mjs|ts|py|json)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const s = nodeFs.statSync(file, { bigint: true });
        parts.push(`${file}:${fileStamp(s)}`);
      }
    }
  };
  walk(CODE_DIR);
  walk(RULES_DIR);
  codeStamp = sha256(parts.join('\n'));
  return codeStamp;
}

/** JSON of `value` with Maps and Sets spelled out and the named keys left out. */
function stableJson(value: unknown, drop: Set<string>): string {
  return JSON.stringify(value, (k, v) => {
    if (drop.has(k)) return undefined;
    if (v instanceof Map) return { map: [...v.entries()] };
    if (v instanceof Set) return { set: [...v] };
    if (v instanceof RegExp) return { re: String(v) };
    return v;
  });
}

/** The key a result is filed under (see the module comment). */
export function resultKey(parts: Record<string, unknown>): string {
  return sha256(`${FORMAT}\n${stampOfCode()}\n${stableJson(parts, new Set(['fs', 'signal', 'onProgress', 'out']))}`);
}

/** A reused result: the value, and its outputs' bytes placed below `out`. */
export interface Reused<T> {
  value: T;
  outputs: (Omit<StoredOutput, 'offset' | 'bytes'> & { data: Uint8Array })[];
}

/** The result filed under `key`, if every read it was made from reads the same now; else undefined. */
export function loadResult<T>(fs: PackFs, cacheDir: string, key: string, out: string): Reused<T> | undefined {
  const dir = path.join(cacheDir, RESULTS_DIR);
  let stored: StoredResult<T>;
  try {
    stored = JSON.parse(readRegularFile(fs, path.join(dir, `${key}.json`), Infinity).toString('utf8'));
  } catch {
    return undefined;
  }
  if (stored?.format !== FORMAT || stored.key !== key || !Array.isArray(stored.reads) || !Array.isArray(stored.outputs)) return undefined;
  const stamps = new Map(Array.isArray(stored.stamps) ? stored.stamps : []);
  for (const [read, observation] of stored.reads) {
    const [op, file] = read.split('\0');
    const stamp = op === 'read' ? stamps.get(file) : undefined;
    if (stamp !== undefined) {
      try {
        if (fileStamp(fs.statSync(file, { bigint: true }) as nodeFs.BigIntStats) === stamp) continue;
      } catch {
        return undefined;
      }
    }
    if (observe(fs, op, file) !== observation) return undefined;
  }
  let blob: Buffer;
  try {
    blob = readRegularFile(fs, path.join(dir, `${key}.bin`), Infinity);
  } catch {
    return undefined;
  }
  if (blobChecksum([blob]) !== stored.blob) return undefined;
  markUsed(fs, path.join(dir, `${key}.json`));
  return {
    value: stored.value,
    outputs: stored.outputs.map(({ offset, bytes, ...o }) => ({ ...o, path: path.join(out, o.path), data: blob.subarray(offset, offset + bytes) })),
  };
}

/** Files `value` and its outputs under `key`, if `recorder` saw every read (never throws). */
export function saveResult<T>(fs: PackFs, cacheDir: string, key: string, out: string, recorder: ReadRecorder, value: T, outputs: KeptOutput[]): void {
  if (!recorder.complete) return;
  const dir = path.join(cacheDir, RESULTS_DIR);
  const datas = outputs.map((o) => (typeof o.data === 'string' ? Buffer.from(o.data) : o.data));
  let offset = 0;
  const stored: StoredResult<T> = {
    format: FORMAT,
    key,
    reads: [...recorder.reads],
    stamps: [...recorder.stamps],
    value,
    outputs: outputs.map((o, i) => {
      const entry: StoredOutput = { path: path.relative(out, o.path), kind: o.kind, ...(o.of ? { of: o.of, encoding: o.encoding } : {}), offset, bytes: datas[i].length };
      offset += datas[i].length;
      return entry;
    }),
    blob: '',
  };
  stored.blob = blobChecksum(datas);
  // The .json first, then the blob (in parts: never joined in memory): a run cut in between
  // leaves a .json whose blob is missing or another's (its checksum says so: a miss), never
  // a blob that nothing names and nothing would remove.
  if (!writeFileBestEffort(fs, path.join(dir, `${key}.json`), JSON.stringify(stored))) return;
  writeFileBestEffort(fs, path.join(dir, `${key}.bin`), datas);
  prune(fs, dir);
}

/** Keeps the MAX_RESULTS results used last (and no blob without its .json, nor the temporary files of dead runs). */
function prune(fs: PackFs, dir: string): void {
  try {
    const names = (fs.readdirSync(dir) as string[]).map(String);
    const results = byLastUse(fs, dir, names.filter((name) => name.endsWith('.json')));
    const kept = new Set(results.slice(0, MAX_RESULTS).map((name) => name.slice(0, -'.json'.length)));
    for (const name of names) {
      const base = name.replace(/\.(json|bin)$/, '');
      if (base !== name && !kept.has(base)) fs.rmSync(path.join(dir, name), { force: true });
    }
    removeStaleTemps(fs, dir, bestEffortTempOwner);
  } catch {
    // best effort
  }
}

/**
 * The result of `make` for `ctx` and `inputs` (with `ctx.options`, the key's parts):
 * an earlier one whose every read reads the same now, or a new one, made while its reads
 * are recorded (through `ctx.options.fs`) and then filed. The warnings `make` adds to
 * `ctx.warnings` are kept with it and given again on reuse. Only with the cache on and
 * the real file system (a stamp or a sha256 of another fs proves nothing about this one).
 */
export async function reuseOrMake<T, F extends KeptOutput>(ctx: Context, inputs: Record<string, unknown>, make: () => Promise<{ value: T; files: F[] }>): Promise<{ value: T; files: F[]; reused: boolean }> {
  const { cache, cacheDir, out, fs, lib } = ctx.options;
  if (!cache || fs !== nodeFs) return { ...(await make()), reused: false };
  const key = resultKey({ options: ctx.options, ...inputs });
  const found = await stage(ctx, 'reuse', () => loadResult<{ value: T; warnings: PackWarning[] }>(fs, cacheDir, key, out));
  if (found) {
    ctx.warnings.push(...found.value.warnings);
    return { value: found.value.value, files: found.outputs as F[], reused: true };
  }
  const recorder = new ReadRecorder(fs, [path.resolve(cacheDir)], [path.resolve(lib)]);
  const warned = ctx.warnings.length;
  ctx.options = { ...ctx.options, fs: recorder.fs };
  let made;
  try {
    made = await make();
  } finally {
    ctx.options = { ...ctx.options, fs };
  }
  saveResult(fs, cacheDir, key, out, recorder, { value: made.value, warnings: ctx.warnings.slice(warned) }, made.files);
  return { ...made, reused: false };
}
