/**
 * Precompressed copies for servers that serve `NAME.br` / `NAME.gz` when the
 * client accepts the encoding (nginx `gzip_static`/`brotli_static`, Caddy
 * `precompressed`, most static hosts): Brotli at its best (quality 11, 16 MiB
 * window) and gzip -9, of the zip and the package's `.data`. Both run on
 * libuv's thread pool, so the copies of two outputs compress in parallel.
 *
 * Deterministic: the same bytes in give the same bytes out (for one Node, whose
 * zlib and Brotli encoders are fixed); the gzip header has no name and no time
 * (Node writes MTIME 0) and says "Unix" as its OS on every host.
 *
 * Brotli at quality 11 takes seconds per megabyte, so each copy is kept in the
 * cache under the hash of what it compresses, and a copy read back is used only
 * once it decompresses to exactly those bytes. The cache keeps the KEEP copies
 * used last.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { byLastUse, markUsed } from '../cache/cache-dir.js';
import { readRegularFile } from '../read-file.js';
import type { PackFs, PackOutput, PackPrecompression } from '../types.js';
import { writeFileBestEffort, type OutputFile } from './write.js';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Bumped when the settings below change: part of every cache key. */
const SETTINGS = 'br q11 lgwin24; gz 9 os3';

/** Copies the cache keeps (the most recently used): two encodings of a few outputs and versions. */
const KEEP = 16;

export const EXTENSIONS: Record<PackPrecompression, string> = { br: '.br', gz: '.gz' };

/** The outputs that get precompressed copies: what a browser downloads. */
export const PRECOMPRESSED_KINDS: PackOutput['kind'][] = ['zip', 'package-data'];

export type PrecompressedFile = OutputFile & { kind: 'precompressed'; of: string; encoding: PackPrecompression };

export async function compress(data: Uint8Array, encoding: PackPrecompression): Promise<Uint8Array> {
  if (encoding === 'br') {
    return brotli(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_LGWIN]: zlib.constants.BROTLI_MAX_WINDOW_BITS,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
  }
  const out = await gzip(data, { level: 9 });
  out[9] = 3; // OS: Unix, whatever the host (RFC 1952); not covered by the CRC
  return out;
}

function decompress(data: Uint8Array, encoding: PackPrecompression): Buffer {
  return encoding === 'br' ? zlib.brotliDecompressSync(data) : zlib.gunzipSync(data);
}

const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A cached copy of `data`, if the cache has one that decompresses to exactly `data`. */
function fromCache(fs: PackFs, file: string, data: Uint8Array, hash: string, encoding: PackPrecompression): Uint8Array | undefined {
  let copy: Uint8Array;
  try {
    copy = readRegularFile(fs, file, Infinity); // a FIFO there would block a plain read
    if (digest(decompress(copy, encoding)) !== hash) return undefined;
    markUsed(fs, file);
    return copy;
  } catch {
    return undefined;
  }
}

/**
 * The `.br` / `.gz` copies of `files` of the precompressed kinds, through the cache
 * in `cacheDir` when given (`precompressed/<sha256 of the input>.<encoding>`).
 */
export async function precompressFiles(
  files: (OutputFile & { kind: PackOutput['kind'] })[],
  encodings: PackPrecompression[],
  fs: PackFs,
  cacheDir?: string,
): Promise<PrecompressedFile[]> {
  const jobs: Promise<PrecompressedFile>[] = [];
  for (const file of files) {
    if (!PRECOMPRESSED_KINDS.includes(file.kind)) continue;
    const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    const hash = digest(data);
    for (const encoding of encodings) {
      jobs.push(
        (async () => {
          const key = createHash('sha256').update(`${SETTINGS}\0${encoding}\0${hash}`).digest('hex');
          const cached = cacheDir ? path.join(cacheDir, 'precompressed', `${key}${EXTENSIONS[encoding]}`) : undefined;
          let copy = cached ? fromCache(fs, cached, data, hash, encoding) : undefined;
          if (!copy) {
            copy = await compress(data, encoding);
            if (cached) writeFileBestEffort(fs, cached, copy);
          }
          return { path: file.path + EXTENSIONS[encoding], data: copy, kind: 'precompressed', of: file.path, encoding };
        })(),
      );
    }
  }
  const copies = await Promise.all(jobs);
  if (cacheDir && copies.length) trimCache(fs, path.join(cacheDir, 'precompressed'));
  return copies;
}

/** Deletes all but the KEEP copies used last (best effort). */
function trimCache(fs: PackFs, dir: string): void {
  try {
    const copies = (fs.readdirSync(dir) as string[]).map(String).filter((name) => /^[0-9a-f]{64}\.(br|gz)$/.test(name));
    for (const old of byLastUse(fs, dir, copies).slice(KEEP)) fs.rmSync(path.join(dir, old), { force: true });
  } catch {
    // a cache that cannot be trimmed is only bigger
  }
}
