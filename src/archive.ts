/**
 * Stage: the stdlib zip, written with fflate. zipimport reads only STORED (0)
 * and DEFLATE (8) entries (CPython bpo-17004), so those are the only methods.
 * Entries can arrive already compressed (from the cache) with their CRC-32, so
 * a warm rebuild only assembles bytes.
 */
import { Zip, type ZipInputFile } from 'fflate';
import zlib from 'node:zlib';
import type { PackCompression } from './types.js';

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
 * Compresses one entry. Node's native zlib is used for DEFLATE: on this
 * project's benchmark machine it deflates the 3.11 stdlib's pycs at level 9
 * faster than fflate's pure-JS deflate (see test/bench/ for the numbers).
 */
export function compressEntry(data: Uint8Array, compression: PackCompression, level: number): CompressedEntry {
  const crc = zlib.crc32(data) >>> 0;
  if (compression === 'stored') return { data, crc, method: 0, size: data.length };
  const deflated = zlib.deflateRawSync(data, { level });
  return { data: new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.byteLength), crc, method: 8, size: data.length };
}

/**
 * A DOS timestamp is local time without a zone; fflate writes the local
 * fields of the Date it gets. Building the Date from the UTC fields of the
 * epoch makes the bytes the same in every time zone.
 */
export function zipDate(epochSeconds: number): Date {
  const clamped = Math.max(epochSeconds, 315532800); // 1980-01-01T00:00:00Z, the DOS epoch
  const u = new Date(clamped * 1000);
  return new Date(u.getUTCFullYear(), u.getUTCMonth(), u.getUTCDate(), u.getUTCHours(), u.getUTCMinutes(), u.getUTCSeconds());
}

/** Assembles a zip from entries, in the order given. */
export function buildZip(entries: ArchiveEntry[], epochSeconds: number): Uint8Array {
  const mtime = zipDate(epochSeconds);
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
      mtime,
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
  return out;
}
