/**
 * Content-addressed cache of compiled, compressed modules.
 *
 * One file per entry, `<dir>/<key[0..2]>/<key>`, holding the pyc, the zip
 * entry's compressed bytes with their CRC-32, and the module's import list, so
 * a warm rebuild only reads, hashes and assembles. The key is a sha256 over
 * everything that changes those bytes (see `cacheKey`). Each file carries a
 * sha256 of its header and payload: a corrupted or truncated entry is a miss
 * (and is deleted), never shipped. Writes go to a temporary name and are
 * renamed into place, so a reader never sees half a file; the cache is best
 * effort: failing to write it never fails a pack.
 *
 * Entry layout (integers little-endian):
 *
 *   0  4  "PWAC"             44  1  zip method (0 STORED, 8 DEFLATE)
 *   4  4  format version     45  1  flags (1 = compressed bytes are the pyc)
 *   8 32  key (raw sha256)   46  2  reserved
 *  40  4  CRC-32 of the pyc  48  4  pyc length
 *                            52  4  compressed length
 *                            56  4  imports JSON length
 *                            60 32  sha256 of bytes 0..60 and the payload
 *  92     payload: pyc | compressed | imports JSON (UTF-8)
 */
import { createHash, randomBytes } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import type { PackFs } from './types.js';

export interface CacheEntry {
  pyc: Uint8Array;
  /** The zip entry's data: raw deflate, or the pyc itself for STORED. */
  compressed: Uint8Array;
  /** CRC-32 of the pyc. */
  crc: number;
  /** ZIP method of `compressed`. */
  method: 0 | 8;
  imports: unknown[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries found damaged (truncated, bit flips, wrong key) and ignored. */
  corrupt: number;
  writes: number;
  /** Writes that failed (read-only dir, disk full...); the pack goes on. */
  writeErrors: number;
}

export interface PackCache {
  readonly enabled: boolean;
  readonly dir: string;
  readonly stats: CacheStats;
  /** The entry for `key` (64 hex digits), or undefined when absent or damaged. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Stores an entry atomically; never throws. */
  put(key: string, entry: CacheEntry): Promise<void>;
}

export interface OpenCacheOptions {
  /** Cache directory (created on first write). */
  dir: string;
  /** @default node:fs */
  fs?: PackFs;
  /** When false, `get` always misses and `put` does nothing. @default true */
  enabled?: boolean;
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
  invalidation: string;
  /** Only for timestamp pycs. */
  mtime?: number;
  /** Whether the import scan ran (an entry without imports must not answer a run that wants them). */
  imports: boolean;
  /** File name embedded in the code objects. */
  filename: string;
  compression: string;
  level: number;
  /** Identifies the deflate implementation, e.g. `node-zlib 1.3.0.1-motley`: another one may emit other bytes. */
  compressor: string;
}

const MAGIC = 0x43415750; // "PWAC" read as little-endian u32
const FORMAT = 1;
const HEADER = 92;
const DIGESTED = 60;

/** The cache key: sha256 over a canonical, versioned encoding of `parts`. */
export function cacheKey(parts: CacheKeyParts): string {
  const fields = [
    'pywasm-assets cache 1',
    parts.sourceHash,
    String(parts.magic),
    parts.version,
    parts.workerDigest,
    String(parts.optimize),
    parts.invalidation,
    parts.invalidation === 'timestamp' ? String(parts.mtime ?? 0) : '',
    parts.imports ? 'imports' : 'no-imports',
    parts.filename,
    parts.compression,
    parts.compression === 'stored' ? '' : String(parts.level),
    parts.compression === 'stored' ? '' : parts.compressor,
  ];
  // NUL cannot occur in any field (file names with NUL are not valid paths).
  return createHash('sha256').update(fields.join('\0')).digest('hex');
}

export function encodeEntry(key: string, entry: CacheEntry): Uint8Array {
  const sameBytes = entry.method === 0 && bytesEqual(entry.compressed, entry.pyc);
  const compressed = sameBytes ? new Uint8Array(0) : entry.compressed;
  const imports = Buffer.from(JSON.stringify(entry.imports), 'utf8');
  const out = Buffer.alloc(HEADER + entry.pyc.byteLength + compressed.byteLength + imports.byteLength);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(FORMAT, 4);
  Buffer.from(key, 'hex').copy(out, 8);
  out.writeUInt32LE(entry.crc >>> 0, 40);
  out.writeUInt8(entry.method, 44);
  out.writeUInt8(sameBytes ? 1 : 0, 45);
  out.writeUInt32LE(entry.pyc.byteLength, 48);
  out.writeUInt32LE(compressed.byteLength, 52);
  out.writeUInt32LE(imports.byteLength, 56);
  let at = HEADER;
  out.set(entry.pyc, at);
  at += entry.pyc.byteLength;
  out.set(compressed, at);
  at += compressed.byteLength;
  out.set(imports, at);
  digest(out).copy(out, DIGESTED);
  return out;
}

/** Parses and verifies an entry file; undefined when anything is off. */
export function decodeEntry(key: string, data: Uint8Array): CacheEntry | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER) return undefined;
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== FORMAT) return undefined;
  if (buf.toString('hex', 8, 40) !== key) return undefined;
  const method = buf.readUInt8(44);
  const flags = buf.readUInt8(45);
  const pycLength = buf.readUInt32LE(48);
  const compressedLength = buf.readUInt32LE(52);
  const importsLength = buf.readUInt32LE(56);
  if ((method !== 0 && method !== 8) || flags > 1) return undefined;
  if (buf.length !== HEADER + pycLength + compressedLength + importsLength) return undefined;
  if (!digest(buf).equals(buf.subarray(DIGESTED, HEADER))) return undefined;
  const pyc = buf.subarray(HEADER, HEADER + pycLength);
  const compressed = flags === 1 ? pyc : buf.subarray(HEADER + pycLength, HEADER + pycLength + compressedLength);
  let imports: unknown;
  try {
    imports = JSON.parse(buf.toString('utf8', HEADER + pycLength + compressedLength));
  } catch {
    return undefined;
  }
  if (!Array.isArray(imports)) return undefined;
  return { pyc, compressed, crc: buf.readUInt32LE(40), method: method as 0 | 8, imports };
}

function digest(buf: Buffer): Buffer {
  return createHash('sha256').update(buf.subarray(0, DIGESTED)).update(buf.subarray(HEADER)).digest();
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Opens the cache in `dir` (nothing is touched until the first get/put).
 *
 * ```ts
 * const cache = openCache({ dir: 'node_modules/.cache/pywasm-assets' });
 * const hit = await cache.get(key) ?? (await cache.put(key, entry), entry);
 * ```
 */
export function openCache(options: OpenCacheOptions): PackCache {
  const fs = options.fs ?? nodeFs;
  const dir = options.dir;
  const enabled = options.enabled ?? true;
  const stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0, writeErrors: 0 };
  const made = new Set<string>();
  const fileOf = (key: string) => path.join(dir, key.slice(0, 2), key);
  const checkKey = (key: string) => {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`cache key must be 64 hex digits, got ${JSON.stringify(key)}`);
  };

  return {
    enabled,
    dir,
    stats,
    async get(key) {
      checkKey(key);
      if (!enabled) {
        stats.misses++;
        return undefined;
      }
      let data: Uint8Array;
      try {
        data = await fs.promises.readFile(fileOf(key));
      } catch {
        stats.misses++;
        return undefined;
      }
      const entry = decodeEntry(key, data);
      if (!entry) {
        stats.corrupt++;
        stats.misses++;
        await fs.promises.unlink(fileOf(key)).catch(() => {});
        return undefined;
      }
      stats.hits++;
      return entry;
    },
    async put(key, entry) {
      checkKey(key);
      if (!enabled) return;
      const file = fileOf(key);
      const sub = path.dirname(file);
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        if (!made.has(sub)) {
          await fs.promises.mkdir(sub, { recursive: true });
          made.add(sub);
        }
        await fs.promises.writeFile(tmp, encodeEntry(key, entry));
        await fs.promises.rename(tmp, file);
        stats.writes++;
      } catch {
        stats.writeErrors++;
        await fs.promises.unlink(tmp).catch(() => {});
      }
    },
  };
}
