/**
 * Content-addressed cache of compiled, compressed modules.
 *
 * The whole cache is ONE file, `<dir>/pack-v2.bin`: a checksummed index
 * followed by the entries. It is read once (at `load()` or the first `get`)
 * and written at most once per `flush()`, to a temporary name renamed into
 * place, so a concurrent reader sees the old file or the new one, never half
 * of one. Why not one file per entry (format 1 did that): creating 427 small
 * files on this machine's ext4 cost 20-300 ms of wall time and up to 0.8 s of
 * system CPU (openat ~190 µs, mkdir ~500 µs under strace), one write of the
 * same bytes 7-27 ms; a warm run spent 50-70 ms opening 427 files, one read of
 * 3.4 MB takes a few ms.
 *
 * An entry holds what the zip needs: the compressed bytes, their CRC-32 and
 * method, the pyc's length, and the module's imports. Not the pyc itself (8 MB
 * for the 3.11 stdlib, vs 3.4 MB deflated): `get(key, { pyc: true })`
 * inflates it back and checks its length and CRC-32. The key is a sha256 over
 * everything that changes those bytes (see `cacheKey`). Each entry carries a
 * sha256 of its header and payload and is checked when it is read: a damaged
 * entry is a miss (and is not written back), never shipped; the other entries
 * still serve. A damaged file header or index makes the whole file a miss; a
 * file of another format version is ignored. Either is replaced on flush. The
 * cache is best effort: failing to write it never fails a pack.
 *
 * Pack file layout (integers little-endian):
 *
 *   0       4  "PWAP"
 *   4       4  pack format version (2)
 *   8       4  entry count n
 *  12       4  reserved (0)
 *  16     40n  index: per entry its key (32 raw bytes), offset (u32, from the
 *              start of the file) and length (u32)
 *  16+40n  32  sha256 of bytes 0..16+40n
 *  48+40n      the entries, in index order: most recently used first
 *
 * Entry layout (integers little-endian):
 *
 *   0  4  "PWAC"             44  1  zip method (0 STORED, 8 DEFLATE)
 *   4  4  entry format (2)   45  3  reserved (0)
 *   8 32  key (raw sha256)   48  4  pyc length
 *  40  4  CRC-32 of the pyc  52  4  compressed length (= pyc length for STORED)
 *                            56  4  imports JSON length
 *                            60 32  sha256 of bytes 0..60 and the payload
 *  92     payload: compressed (the pyc itself for STORED) | imports JSON (UTF-8)
 *
 * Eviction: a flush writes the entries this run used (hits and puts, in the
 * order of their first get or put), then the previous file's other entries in
 * their order, as long as the file stays within max(`maxBytes`, 2 × the bytes
 * this run used). `maxBytes` defaults to 64 MiB, about 19 configurations of
 * the default 3.11 stdlib (3.4 MB each) or 4 of the full tree with its tests
 * (13 MB), so two profiles packed alternately both stay warm while the file
 * stays bounded.
 */
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { bestEffortTempOwner, removeStaleTemps, whyUnusable, writeFileBestEffort } from '../output/write.js';
import { readRegularFile } from '../read-file.js';
import type { PackFs } from '../types.js';

export interface CacheEntry {
  /** The zip entry's data: raw deflate, or the pyc itself for STORED. */
  compressed: Uint8Array;
  /** CRC-32 of the pyc. */
  crc: number;
  /** ZIP method of `compressed`. */
  method: 0 | 8;
  /** Length of the pyc (the zip entry's uncompressed size). */
  size: number;
  imports: unknown[];
  /** The pyc: from `get(key, { pyc: true })` only; `put` ignores it. */
  pyc?: Uint8Array;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries (or whole files, once each) found damaged and ignored. */
  corrupt: number;
  /** Pack files written. */
  writes: number;
  /** Writes that failed (read-only dir, disk full...); the pack goes on. */
  writeErrors: number;
}

export interface CacheGetOptions {
  /** Also return the pyc, inflated from the entry and checked against its length and CRC-32. @default false */
  pyc?: boolean;
}

export interface PackCache {
  readonly enabled: boolean;
  readonly dir: string;
  /** The pack file, `<dir>/pack-v2.bin`. */
  readonly file: string;
  readonly stats: CacheStats;
  /**
   * Why the pack file could not be read or written, once that happened (the first
   * reason): `<dir> is a file, not a directory`, `<file> is a directory`, `<dir> is
   * not writable (EACCES)`... The cache then works as an empty one; the pack says so.
   */
  readonly problem: string | undefined;
  /** Reads the pack file (once; `get` does it too when needed). Never rejects. */
  load(): Promise<void>;
  /** The entry for `key` (64 hex digits), or undefined when absent or damaged. Its bytes are its own (not a view of the file). */
  get(key: string, options?: CacheGetOptions): CacheEntry | undefined;
  /** Remembers an entry for the next flush. */
  put(key: string, entry: CacheEntry): void;
  /** Writes the pack file when its content changed (see the module comment); never throws. */
  flush(): void;
}

export interface OpenCacheOptions {
  /** Cache directory (created on first write). */
  dir: string;
  /** @default node:fs */
  fs?: PackFs;
  /** When false, `get` always misses and nothing is read or written. @default true */
  enabled?: boolean;
  /** Floor of the file size cap: entries this run did not use are kept while the file stays within max(maxBytes, 2 × the bytes used). @default 64 MiB */
  maxBytes?: number;
}

/** Everything that changes the bytes of a cached entry. */
export interface CacheKeyParts {
  /** sha256 (hex) of the source bytes. */
  sourceHash: string;
  /** Bytecode magic and full version of the build interpreter. */
  magic: number;
  version: string;
  /** sha256 of the worker scripts (the import scan and pyc layout come from them). */
  workerDigest: string;
  optimize: number;
  /** False: compiled under `-X no_debug_ranges` (no column ranges). @default true */
  debugRanges?: boolean;
  invalidation: string;
  /** Only for timestamp pycs. */
  mtime?: number;
  /** Whether the import scan ran (an entry without imports must not answer a run that wants them). */
  imports: boolean;
  /** Which import scan made the records (src/analysis/scanner/'s SCAN_VERSION). */
  scanner?: string;
  /** File name embedded in the code objects. */
  filename: string;
  compression: string;
  level: number;
  /** Identifies the deflate implementation, e.g. `node-zlib 1.3.0.1-motley`: another one may emit other bytes. */
  compressor: string;
}

export const PACK_FILE = 'pack-v2.bin';
const PACK_MAGIC = 0x50415750; // "PWAP" read as little-endian u32
const PACK_FORMAT = 2;
const PACK_HEAD = 16;
const INDEX_ROW = 40;
const MAGIC = 0x43415750; // "PWAC" read as little-endian u32
const FORMAT = 2;
const HEADER = 92;
const DIGESTED = 60;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const U32 = 0xffffffff;

/** The cache key: sha256 over a canonical, versioned encoding of `parts`. */
export function cacheKey(parts: CacheKeyParts): string {
  const fields = [
    // 2: entries no longer hold the pyc (recovered by inflating).
    'pywasm-assets cache 2',
    parts.sourceHash,
    String(parts.magic),
    parts.version,
    parts.workerDigest,
    String(parts.optimize),
    parts.invalidation,
    parts.invalidation === 'timestamp' ? String(parts.mtime ?? 0) : '',
    parts.imports ? `imports ${parts.scanner ?? ''}` : 'no-imports',
    parts.filename,
    parts.compression,
    parts.compression === 'stored' ? '' : String(parts.level),
    parts.compression === 'stored' ? '' : parts.compressor,
    // Appended only when set, so the keys of pycs with column ranges stay as they were.
    ...(parts.debugRanges === false ? ['no-debug-ranges'] : []),
  ];
  // NUL cannot occur in any field (file names with NUL are not valid paths).
  return createHash('sha256').update(fields.join('\0')).digest('hex');
}

export function encodeEntry(key: string, entry: CacheEntry): Uint8Array {
  if (entry.method === 0 && entry.compressed.byteLength !== entry.size) throw new RangeError('a STORED entry is the pyc: its length must be `size`');
  const imports = Buffer.from(JSON.stringify(entry.imports), 'utf8');
  const out = Buffer.alloc(HEADER + entry.compressed.byteLength + imports.byteLength);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(FORMAT, 4);
  Buffer.from(key, 'hex').copy(out, 8);
  out.writeUInt32LE(entry.crc >>> 0, 40);
  out.writeUInt8(entry.method, 44);
  out.writeUInt32LE(entry.size, 48);
  out.writeUInt32LE(entry.compressed.byteLength, 52);
  out.writeUInt32LE(imports.byteLength, 56);
  out.set(entry.compressed, HEADER);
  out.set(imports, HEADER + entry.compressed.byteLength);
  digest(out).copy(out, DIGESTED);
  return out;
}

/** Parses and verifies an entry; undefined when anything is off. `compressed` is a view of `data`. */
export function decodeEntry(key: string, data: Uint8Array): CacheEntry | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER) return undefined;
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== FORMAT) return undefined;
  if (buf.toString('hex', 8, 40) !== key) return undefined;
  const method = buf.readUInt8(44);
  const size = buf.readUInt32LE(48);
  const compressedLength = buf.readUInt32LE(52);
  const importsLength = buf.readUInt32LE(56);
  if (method !== 0 && method !== 8) return undefined;
  if (buf.readUIntLE(45, 3) !== 0 || (method === 0 && compressedLength !== size)) return undefined;
  if (buf.length !== HEADER + compressedLength + importsLength) return undefined;
  if (!digest(buf).equals(buf.subarray(DIGESTED, HEADER))) return undefined;
  let imports: unknown;
  try {
    imports = JSON.parse(buf.toString('utf8', HEADER + compressedLength));
  } catch {
    return undefined;
  }
  if (!Array.isArray(imports)) return undefined;
  const compressed = buf.subarray(HEADER, HEADER + compressedLength);
  return { compressed, crc: buf.readUInt32LE(40), method: method as 0 | 8, size, imports };
}

/** The pyc of a decoded entry, checked against its length and CRC-32; undefined on any mismatch. */
export function recoverPyc(entry: CacheEntry): Uint8Array | undefined {
  let pyc: Uint8Array;
  if (entry.method === 0) pyc = entry.compressed;
  else {
    try {
      // maxOutputLength: a damaged stream must not inflate to gigabytes.
      pyc = zlib.inflateRawSync(entry.compressed, { maxOutputLength: Math.max(entry.size, 1) });
    } catch {
      return undefined;
    }
  }
  if (pyc.byteLength !== entry.size || zlib.crc32(pyc) >>> 0 !== entry.crc >>> 0) return undefined;
  return pyc;
}

function digest(buf: Buffer): Buffer {
  return createHash('sha256').update(buf.subarray(0, DIGESTED)).update(buf.subarray(HEADER)).digest();
}

/** A parsed pack file: its entries' places, in file order. */
interface PackIndex {
  buf: Buffer;
  keys: string[];
  at: Map<string, { offset: number; length: number }>;
}

type Parsed = { kind: 'ok'; index: PackIndex } | { kind: 'other-version' } | { kind: 'corrupt' };

/** Parses and verifies a pack file's header and index (not the entries: `get` checks those). */
function parsePack(buf: Buffer): Parsed {
  if (buf.length < PACK_HEAD || buf.readUInt32LE(0) !== PACK_MAGIC) return { kind: 'corrupt' };
  if (buf.readUInt32LE(4) !== PACK_FORMAT) return { kind: 'other-version' };
  const count = buf.readUInt32LE(8);
  const indexEnd = PACK_HEAD + INDEX_ROW * count;
  if (buf.readUInt32LE(12) !== 0 || indexEnd + 32 > buf.length) return { kind: 'corrupt' };
  const sum = createHash('sha256').update(buf.subarray(0, indexEnd)).digest();
  if (!sum.equals(buf.subarray(indexEnd, indexEnd + 32))) return { kind: 'corrupt' };
  const keys: string[] = [];
  const at = new Map<string, { offset: number; length: number }>();
  for (let row = PACK_HEAD; row < indexEnd; row += INDEX_ROW) {
    const key = buf.toString('hex', row, row + 32);
    keys.push(key);
    // The first row of a key wins; a later duplicate is dropped on the next flush.
    if (!at.has(key)) at.set(key, { offset: buf.readUInt32LE(row + 32), length: buf.readUInt32LE(row + 36) });
  }
  return { kind: 'ok', index: { buf, keys, at } };
}

/** Serializes `blobs` (key → encoded entry, in order) into a pack file. */
function encodePack(blobs: Array<[string, Uint8Array]>): Buffer {
  const indexEnd = PACK_HEAD + INDEX_ROW * blobs.length;
  const head = Buffer.alloc(indexEnd + 32);
  head.writeUInt32LE(PACK_MAGIC, 0);
  head.writeUInt32LE(PACK_FORMAT, 4);
  head.writeUInt32LE(blobs.length, 8);
  let offset = head.length;
  blobs.forEach(([key, blob], i) => {
    const row = PACK_HEAD + INDEX_ROW * i;
    head.write(key, row, 'hex');
    head.writeUInt32LE(offset, row + 32);
    head.writeUInt32LE(blob.byteLength, row + 36);
    offset += blob.byteLength;
  });
  createHash('sha256').update(head.subarray(0, indexEnd)).digest().copy(head, indexEnd);
  return Buffer.concat([head, ...blobs.map(([, blob]) => blob)], offset);
}

/**
 * Opens the cache in `dir` (nothing is touched until `load`, `get` or `flush`).
 *
 * ```ts
 * const cache = openCache({ dir: 'node_modules/.cache/pywasm-assets' });
 * await cache.load();
 * const entry = cache.get(key) ?? (cache.put(key, made), made);
 * cache.flush();
 * ```
 */
export function openCache(options: OpenCacheOptions): PackCache {
  const fs = options.fs ?? nodeFs;
  const dir = options.dir;
  const file = path.join(dir, PACK_FILE);
  const enabled = options.enabled ?? true;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0, writeErrors: 0 };
  /** The file as last read or written; undefined until loaded. */
  let base: PackIndex | undefined;
  let loaded = false;
  /** Whether the file on disk is a valid pack of this format (else a flush replaces it). */
  let baseValid = false;
  /** Keys in the order of their first get or put in this run. */
  const used = new Set<string>();
  /** Entries put since the last flush, encoded. */
  const fresh = new Map<string, Uint8Array>();
  /** Entries of `base` found damaged: never written back. */
  const bad = new Set<string>();
  let problem: string | undefined;

  const checkKey = (key: string) => {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`cache key must be 64 hex digits, got ${JSON.stringify(key)}`);
  };
  const ensureLoaded = () => {
    if (loaded) return;
    loaded = true;
    let buf: Buffer;
    try {
      buf = readRegularFile(fs, file, Infinity);
    } catch (error) {
      // Absent: an empty cache. In the way, unreadable or no regular file (a FIFO would block):
      // an empty cache too, and the problem is said.
      problem ??= whyUnusable(fs, file, error as NodeJS.ErrnoException, false);
      return;
    }
    const parsed = parsePack(buf);
    if (parsed.kind === 'ok') {
      base = parsed.index;
      baseValid = true;
    } else if (parsed.kind === 'corrupt') stats.corrupt++;
  };
  /** The encoded entry `key` of the loaded file, when in bounds and not known damaged. */
  const baseBlob = (key: string): Uint8Array | undefined => {
    const at = base?.at.get(key);
    if (!base || !at || bad.has(key) || at.offset + at.length > base.buf.length) return undefined;
    return base.buf.subarray(at.offset, at.offset + at.length);
  };

  return {
    enabled,
    dir,
    file,
    stats,
    get problem() {
      return problem;
    },
    async load() {
      if (enabled) ensureLoaded();
    },
    get(key, getOptions = {}) {
      checkKey(key);
      if (!enabled) {
        stats.misses++;
        return undefined;
      }
      ensureLoaded();
      used.add(key);
      const pending = fresh.get(key);
      const at = pending ? undefined : base?.at.get(key);
      if (!pending && (!at || bad.has(key))) {
        stats.misses++;
        return undefined;
      }
      // An index row past the end of the file (a truncated file) decodes as damaged.
      const blob = pending ?? base!.buf.subarray(at!.offset, at!.offset + at!.length);
      const entry = decodeEntry(key, blob);
      const pyc = entry && getOptions.pyc ? recoverPyc(entry) : undefined;
      if (!entry || (getOptions.pyc && !pyc)) {
        if (pending) fresh.delete(key);
        else bad.add(key);
        stats.corrupt++;
        stats.misses++;
        return undefined;
      }
      stats.hits++;
      // Copied out of the file buffer, which can then be freed with the cache.
      const compressed = new Uint8Array(entry.compressed);
      return { ...entry, compressed, ...(getOptions.pyc ? { pyc: entry.method === 0 ? compressed : pyc } : {}) };
    },
    put(key, entry) {
      checkKey(key);
      if (!enabled) return;
      used.add(key);
      fresh.set(key, encodeEntry(key, entry));
    },
    flush() {
      if (!enabled || (used.size === 0 && fresh.size === 0)) return;
      ensureLoaded();
      const blobs: Array<[string, Uint8Array]> = [];
      let bytes = PACK_HEAD + 32;
      for (const key of used) {
        const blob = fresh.get(key) ?? baseBlob(key);
        if (!blob) continue;
        blobs.push([key, blob]);
        bytes += INDEX_ROW + blob.byteLength;
      }
      if (bytes > U32) return; // offsets are u32; 4 GiB of pycs is not a real stdlib
      const cap = Math.min(U32, Math.max(maxBytes, 2 * bytes));
      for (const key of base?.at.keys() ?? []) {
        if (used.has(key)) continue;
        const blob = baseBlob(key);
        if (!blob) continue;
        // Stop at the first that does not fit: the file is in order of last use.
        if (bytes + INDEX_ROW + blob.byteLength > cap) break;
        blobs.push([key, blob]);
        bytes += INDEX_ROW + blob.byteLength;
      }
      const unchanged = baseValid && fresh.size === 0 && blobs.length === base!.keys.length && blobs.every(([key], i) => key === base!.keys[i]);
      if (unchanged || (!base && !baseValid && blobs.length === 0 && !fs.existsSync(file))) return;
      const data = encodePack(blobs);
      if (!writeFileBestEffort(fs, file, data, (error) => (problem ??= whyUnusable(fs, file, error, true)))) {
        stats.writeErrors++;
        return;
      }
      stats.writes++;
      // Temporaries of runs killed while writing the cache (its pack, listing or answers file).
      removeStaleTemps(fs, dir, bestEffortTempOwner);
      const parsed = parsePack(data);
      if (parsed.kind === 'ok') base = parsed.index;
      baseValid = true;
      fresh.clear();
      bad.clear();
    },
  };
}
