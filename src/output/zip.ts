/**
 * Stage: the stdlib zip, written with fflate. zipimport reads only STORED (0)
 * and DEFLATE (8) entries (CPython bpo-17004), so those are the only methods.
 * Entries can arrive already compressed (from the cache) with their CRC-32, so
 * a warm rebuild only assembles bytes.
 */
import type { ZipInputFile } from 'fflate';
import zlib from 'node:zlib';
import type { PackCompression } from '../types.js';

export interface CompressedEntry {
  /** Raw deflate stream, or the data itself for STORED. */
  data: Uint8Array;
  /** CRC-32 of the uncompressed bytes. */
  crc: number;
  /** ZIP method: 0 = STORED, 8 = DEFLATE. */
  method: 0 | 8;
  /** Uncompressed size. */
  size: number;
}

export interface ArchiveEntry {
  /** Name inside the zip (POSIX). */
  name: string;
  entry: CompressedEntry;
}

/**
 * zlib settings besides the level. memLevel 9 (zlib's default is 8) doubles the
 * match-finder's hash table: on the 3.11 stdlib's pycs at level 9 it deflates
 * ~10% faster (584 vs 653 ms for 628 pycs, 12.3 MB, one core) and 0.04% smaller.
 */
const DEFLATE_OPTIONS = { memLevel: 9 } as const;
/** Names the deflate implementation and its settings (part of the cache key: other settings, other bytes). */
export const COMPRESSOR = `node-zlib ${process.versions.zlib} memLevel ${DEFLATE_OPTIONS.memLevel}`;

/**
 * Compresses one entry. Node's native zlib is used for DEFLATE: on this
 * project's benchmark machine it deflates the 3.11 stdlib's pycs at level 9
 * faster than fflate's pure-JS deflate (see test/bench/ for the numbers).
 */
export function compressEntry(data: Uint8Array, compression: PackCompression, level: number): CompressedEntry {
  const crc = zlib.crc32(data) >>> 0;
  if (compression === 'stored') return { data, crc, method: 0, size: data.length };
  const deflated = zlib.deflateRawSync(data, { ...DEFLATE_OPTIONS, level });
  return { data: new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.byteLength), crc, method: 8, size: data.length };
}

/**
 * compressEntry on libuv's thread pool: the deflate runs off the main thread
 * (which, during a cold pack, reads the workers' pipes and runs the import scan)
 * and, when a core is free, beside other deflates. The same bytes as compressEntry.
 */
export function compressEntryAsync(data: Uint8Array, compression: PackCompression, level: number): Promise<CompressedEntry> {
  const crc = zlib.crc32(data) >>> 0;
  if (compression === 'stored') return Promise.resolve({ data, crc, method: 0, size: data.length });
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(data, { ...DEFLATE_OPTIONS, level }, (error, deflated) => {
      if (error) reject(error);
      else resolve({ data: new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.byteLength), crc, method: 8, size: data.length });
    });
  });
}

/** DOS time and date fields of `epochSeconds`, from its UTC fields (clamped to the DOS epoch, 1980). */
export function dosDateTime(epochSeconds: number): { time: number; date: number } {
  const u = new Date(Math.max(epochSeconds, 315532800) * 1000);
  return {
    time: (u.getUTCHours() << 11) | (u.getUTCMinutes() << 5) | (u.getUTCSeconds() >> 1),
    date: ((u.getUTCFullYear() - 1980) << 9) | ((u.getUTCMonth() + 1) << 5) | u.getUTCDate(),
  };
}

/**
 * fflate, loaded on first use (~12 ms): pack() asks for it once the build
 * interpreter is starting, so loading it overlaps that.
 */
let fflate: Promise<typeof import('fflate')> | undefined;
export const loadZipWriter = () => (fflate ??= import('fflate'));

/** Assembles a zip from entries, in the order given. */
export async function buildZip(entries: ArchiveEntry[], epochSeconds: number): Promise<Uint8Array> {
  const { Zip } = await loadZipWriter();
  const chunks: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else chunks.push(chunk);
  });
  for (const { name, entry } of entries) {
    const file: ZipInputFile = {
      filename: name,
      size: entry.size,
      crc: entry.crc,
      compression: entry.method,
      // 0o100644 regular file, as zipfile writes for files it adds.
      attrs: (0o100644 << 16) >>> 0,
      os: 3,
    };
    zip.add(file);
    file.ondata!(null, entry.data as Uint8Array<ArrayBuffer>, true);
  }
  zip.end();
  if (failure) throw failure;
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  setDosTimes(out, epochSeconds);
  return out;
}

/**
 * fflate writes the local-time fields of a Date, which depend on the time zone
 * (and do not exist in a DST gap). For bytes that are the same everywhere, the
 * time and date of every local header and central-directory entry are set here
 * from the UTC fields of the epoch.
 */
function setDosTimes(zip: Uint8Array, epochSeconds: number): void {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const { time, date } = dosDateTime(epochSeconds);
  let eocd = zip.length - 22;
  while (v.getUint32(eocd, true) !== 0x06054b50) eocd--;
  let at = v.getUint32(eocd + 16, true);
  for (let i = v.getUint16(eocd + 10, true); i > 0; i--) {
    v.setUint16(at + 12, time, true);
    v.setUint16(at + 14, date, true);
    const local = v.getUint32(at + 42, true);
    v.setUint16(local + 10, time, true);
    v.setUint16(local + 12, date, true);
    at += 46 + v.getUint16(at + 28, true) + v.getUint16(at + 30, true) + v.getUint16(at + 32, true);
  }
}
