/**
 * Stage: sources → pycs → zip entries, through the cache.
 *
 * Every item is hashed and looked up in the content-addressed cache; only the
 * misses go to the build-interpreter workers, which compile straight from
 * source (no AST). As each compiled module comes back, the main thread runs the
 * import scan on its source (src/analysis/scanner/) and hands the pyc to zlib on
 * libuv's thread pool, while the workers go on compiling the next batches.
 *
 * Deflate choice, measured by `npm run bench` ("micro" section) on the 2-core
 * machine over the 426 pycs (8.09 MiB) of CPython 3.11.7's stdlib with the
 * default profile, level 9, median of 3 (2026-11-25, idle machine):
 *   node:zlib deflateRawSync             446 ms  3.301 MiB
 *   fflate deflateSync                   560 ms  3.333 MiB  (pure JS: slower, larger)
 *   node:zlib async (libuv pool)         291 ms  3.301 MiB  (several at once when cores are free)
 *   worker_threads x2 + zlib             280 ms  3.301 MiB  (the same, with a thread to manage)
 *   crc32 alone (node:zlib)                2 ms
 * Node's zlib on the thread pool is used: it is as fast as worker threads
 * without one, and during a cold pack it keeps the main thread free for the
 * pipes and the import scan (sync deflate on the main thread made it the
 * longest path: ~1.1 s of its work in a ~1.1 s compile phase). memLevel 9: see output/zip.ts.
 */
import { createHash } from 'node:crypto';
import { SCAN_VERSION } from '../analysis/scanner/version.js';
import { cacheKey, openCache, type PackCache } from '../cache/compile-cache.js';
import { PackError } from '../errors.js';
import { CompilerPool, type CompileError, type CompileItem, type CompileOutcome, type CompileSettings } from '../interpreter/index.js';
import { COMPRESSOR, compressEntry, compressEntryAsync, type CompressedEntry } from '../output/zip.js';
import type { PackCompression } from '../types.js';
import type { ResolvedOptions } from './options/index.js';
import { stage, type Context, type Unit } from './context.js';

export interface CompileCompression {
  method: PackCompression;
  /** Deflate level 0-9. */
  level: number;
  /** @default archive.ts's compressEntryAsync (Node's native zlib, on libuv's thread pool) */
  compress?: (data: Uint8Array, method: PackCompression, level: number) => CompressedEntry;
  /**
   * Names the deflate implementation in the cache key (another zlib may emit
   * other, equally valid, bytes). @default archive.ts's COMPRESSOR (`node-zlib <version> memLevel 9`)
   */
  compressor?: string;
}

export type CompiledModule =
  | {
      ok: true;
      /** The pyc; undefined with `keepPyc: false`. */
      pyc?: Uint8Array;
      /** The zip entry's data (raw deflate, or the pyc for STORED). */
      compressed: Uint8Array;
      /** CRC-32 of the pyc. */
      crc: number;
      method: 0 | 8;
      /** The same as archive.ts's CompressedEntry, ready for the zip. */
      entry: CompressedEntry;
      imports: unknown[];
      /** Came from the cache. */
      cached: boolean;
    }
  | { ok: false; error: CompileError; imports: unknown[]; cached: false };

export interface CompileModulesOptions {
  /** Called as modules are done (cache hits count at once). */
  onProgress?: (done: number, total: number) => void;
  /** Filled in with counts and times (ms) when given. */
  stats?: Partial<CompileModulesStats>;
  /**
   * Return each module's pyc next to its zip entry. Pass false when only the
   * entry is needed: the pycs (and the batch and cache-file buffers they live
   * in) can then be freed, about 50 MB less peak RSS on the full 3.11 tree.
   * @default true
   */
  keepPyc?: boolean;
  /**
   * Called once compileModules is done with item `index`'s source (compiled and
   * its imports read): the caller can drop its bytes early (the full 3.11 tree
   * holds ~40 MB of sources). Not called for sources that failed to compile.
   */
  onSourceDone?: (index: number) => void;
}


export interface CompileModulesStats {
  hits: number;
  misses: number;
  /** Damaged cache entries found (recompiled). */
  corrupt: number;
  /** Hashing sources and reading the cache. */
  cacheMs: number;
  /** From the first miss sent to the workers to the last result compressed. */
  compileMs: number;
  /** Main-thread time spent deflating (overlaps compileMs). */
  compressMs: number;
  /** Main-thread time spent in the import scan (src/analysis/scanner/; overlaps compileMs). */
  scanMs: number;
}

/**
 * Compiles and compresses `items` (results in the same order), reusing cached
 * entries. A source that fails to compile is an `ok: false` result (never
 * cached); a worker crash rejects with ERR_PYTHON_WORKER.
 *
 * ```ts
 * const pool = await CompilerPool.start(info, { jobs, lazy: true });
 * const cache = openCache({ dir: cacheDir, enabled: options.cache });
 * try {
 *   const modules = await compileModules(pool, cache, items, { optimize: 0, invalidation: 'unchecked-hash' }, { method: 'deflate', level: 9 });
 * } finally { await pool.close(); }
 * ```
 */
export async function compileModules(
  pool: CompilerPool,
  cache: PackCache,
  items: CompileItem[],
  settings: CompileSettings,
  compression: CompileCompression,
  options: CompileModulesOptions = {},
): Promise<CompiledModule[]> {
  const compressor = compression.compressor ?? COMPRESSOR;
  const info = pool.info;
  const wantImports = settings.imports ?? true;
  const keepPyc = options.keepPyc ?? true;
  const stats: CompileModulesStats = { hits: 0, misses: 0, corrupt: 0, cacheMs: 0, compileMs: 0, compressMs: 0, scanMs: 0 };
  const corruptBefore = cache.stats.corrupt;
  const t0 = performance.now();
  const keys = items.map((item) =>
    cacheKey({
      sourceHash: item.sourceHash ?? createHash('sha256').update(item.source).digest('hex'),
      magic: info.magic,
      version: info.version,
      workerDigest: info.workerDigest,
      optimize: settings.optimize,
      debugRanges: pool.debugRanges,
      invalidation: settings.invalidation,
      mtime: settings.mtime,
      imports: wantImports,
      scanner: wantImports ? SCAN_VERSION : undefined,
      filename: item.filename,
      compression: compression.method,
      level: compression.level,
      compressor,
    }),
  );

  const results: CompiledModule[] = new Array(items.length);
  const total = items.length;
  let done = 0;
  const misses: number[] = [];
  // One read of the cache's pack file, then plain lookups.
  if (cache.enabled) await cache.load();
  for (let i = 0; i < items.length; i++) {
    const hit = cache.enabled ? cache.get(keys[i], { pyc: keepPyc }) : undefined;
    if (hit) {
      const entry: CompressedEntry = { data: hit.compressed, crc: hit.crc, method: hit.method, size: hit.size };
      results[i] = { ok: true, pyc: keepPyc ? hit.pyc : undefined, compressed: hit.compressed, crc: hit.crc, method: hit.method, imports: hit.imports, entry, cached: true };
      done++;
    } else {
      // No more workers than files that may miss (this one and those after it).
      if (misses.length === 0) pool.prepare(items.length - i);
      misses.push(i);
    }
  }
  if (done > 0) options.onProgress?.(done, total);
  stats.hits = done;
  stats.misses = misses.length;
  stats.cacheMs = performance.now() - t0;
  const report = () => {
    stats.corrupt = cache.stats.corrupt - corruptBefore;
    if (options.stats) Object.assign(options.stats, stats);
  };
  if (misses.length === 0) {
    cache.flush();
    report();
    return results;
  }
  const t1 = performance.now();

  // Loaded only when something is compiled: a warm run never needs it.
  const scanner = wantImports ? await import('../analysis/scanner/index.js') : undefined;
  misses.sort((a, b) => a - b);
  // The import scan runs here, in Node (src/analysis/scanner/), while the workers
  // compile straight from source: the interpreter's AST would double their CPU
  // time. Sources the scan declines (not UTF-8...) and sources that fail to
  // compile go back to the workers for the AST scan (`fallback`), so every
  // record is what src/python/imports.py would give.
  const fallback: number[] = [];
  const deflating: Promise<void>[] = [];
  const finish = (k: number, outcome: CompileOutcome) => {
    const i = misses[k];
    if (outcome.ok) {
      let imports: unknown[] = [];
      let declined = false;
      if (wantImports) {
        const ts = performance.now();
        const scanned = scanner!.findImports(items[i].source);
        stats.scanMs += performance.now() - ts;
        if (scanned) imports = scanned;
        else declined = true;
      }
      if (declined) fallback.push(i);
      else options.onSourceDone?.(i);
      const store = (made: CompressedEntry) => {
        const entry: CompressedEntry = { data: made.data, crc: made.crc >>> 0, method: made.method, size: outcome.pyc.byteLength };
        const value = { compressed: entry.data, crc: entry.crc, method: entry.method, imports };
        results[i] = { ok: true, ...value, pyc: keepPyc ? outcome.pyc : undefined, entry, cached: false };
        if (cache.enabled && !declined) cache.put(keys[i], { ...value, size: entry.size });
      };
      const tc = performance.now();
      if (compression.compress) store(compression.compress(outcome.pyc, compression.method, compression.level));
      else deflating.push(compressEntryAsync(outcome.pyc, compression.method, compression.level).then(store));
      stats.compressMs += performance.now() - tc;
    } else {
      results[i] = { ok: false, error: outcome.error, imports: [], cached: false };
      if (wantImports) fallback.push(i);
    }
    done++;
    options.onProgress?.(done, total);
  };
  // Compress one module per macrotask so the workers' pipes are read in
  // between: a worker blocked on a full stdout pipe would sit idle.
  const queue: Array<[number, CompileOutcome]> = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (queue.length > 0) {
      const [k, outcome] = queue.shift()!;
      finish(k, outcome);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    draining = undefined;
  };
  await pool.compile(
    misses.map((i) => items[i]),
    { ...settings, imports: false },
    undefined,
    (k, outcome) => {
      queue.push([k, outcome]);
      draining ??= drain();
    },
  );
  while (draining) await draining;
  await Promise.all(deflating);
  if (fallback.length) {
    fallback.sort((a, b) => a - b);
    await pool.compile(
      fallback.map((i) => items[i]),
      { ...settings, imports: true },
      undefined,
      (k, outcome) => {
        const i = fallback[k];
        const r = results[i];
        r.imports = outcome.imports;
        if (r.ok) options.onSourceDone?.(i);
        if (r.ok && cache.enabled) cache.put(keys[i], { compressed: r.compressed, crc: r.crc, method: r.method, imports: r.imports, size: r.entry.size });
      },
    );
  }
  stats.compileMs = performance.now() - t1;
  cache.flush();
  report();
  return results;
}

// --- the stage: units → zip entries ------------------------------------------------

const EMPTY = new Uint8Array(0);

/** Where the zip is in the runtime's file system: the prefix of the code objects' file names. */
export function zipRoot(options: ResolvedOptions): string {
  return `${options.prefix === '/' ? '' : options.prefix}/lib/python${options.versionNodot}.zip`;
}

/** Compiles (and compresses) every unit through the cache; fills pyc/py/imports/failed. */
export async function compileUnits(ctx: Context, units: Unit[]): Promise<void> {
  const { options } = ctx;
  const root = zipRoot(options);
  const items: CompileItem[] = units.map((u) => ({ path: u.path, source: u.source, filename: `${root}/${u.stem}.py` }));
  const pool = await CompilerPool.start(options.python, { jobs: options.jobs, lazy: true, debugRanges: options.debugRanges, idleTimeout: options.workerTimeout, signal: options.signal });
  const cache = (ctx.cache ??= openCache({ dir: options.cacheDir, fs: options.fs, enabled: options.cache }));
  const stats: Partial<CompileModulesStats> = {};
  try {
    const compiled = await stage(ctx, 'compile', () =>
      compileModules(
        pool,
        cache,
        items,
        { optimize: options.optimize, invalidation: options.invalidation, mtime: options.sourceDateEpoch },
        { method: options.compression, level: options.level },
        {
          stats,
          keepPyc: false,
          onProgress: (done, total) => options.onProgress?.({ phase: 'compile', done, total }),
          // Sources that ship only as pycs are not needed any more.
          onSourceDone: options.sources === 'pyc' ? (i) => (units[i].source = items[i].source = EMPTY) : undefined,
        },
      ),
    );
    compiled.forEach((c, i) => {
      const unit = units[i];
      unit.imports = c.imports;
      if (c.ok) unit.pyc = c.entry;
      else unit.failed = `${unit.path}:${c.error.line ?? '?'}: ${c.error.message}`;
    });
    await stage(ctx, 'compress', () => {
      for (const unit of units) {
        if (options.sources !== 'pyc' || unit.failed) unit.py = compressEntry(unit.source, options.compression, options.level);
        unit.source = EMPTY; // not needed any more; the full tree holds ~40 MB of sources
      }
    });
  } finally {
    await pool.close();
  }
  ctx.cacheHits += stats.hits ?? 0;
  ctx.cacheMisses += stats.misses ?? 0;
  if (cache.problem && !ctx.warnings.some((w) => w.code === 'CACHE_UNUSABLE')) {
    ctx.warnings.push({
      code: 'CACHE_UNUSABLE',
      path: options.cacheDir,
      message: `The compile cache cannot be used: ${cache.problem}, so ${cache.stats.hits ? 'what this run compiled is not kept' : 'every run compiles everything again'}. Fix that (remove what is in the way, or make the directory writable), pass another --cache-dir, or pass --no-cache.`,
    });
  }
  if (stats.corrupt) ctx.warnings.push({ code: 'CACHE_CORRUPT', message: `${stats.corrupt} damaged cache entr${stats.corrupt > 1 ? 'ies were' : 'y was'} found in ${options.cacheDir} and recompiled.` });
}

/** Sources that did not compile: an error listing them all, or (--allow-syntax-errors) warnings. */
export function checkCompileFailures(ctx: Context, units: Unit[]): void {
  const failed = units.filter((u) => u.failed);
  if (!failed.length) return;
  if (!ctx.options.allowSyntaxErrors) {
    const lines = failed.map((u) => u.failed!);
    throw new PackError('ERR_SYNTAX', `${failed.length} source file${failed.length > 1 ? 's' : ''} failed to compile:\n  ${lines.join('\n  ')}`, 'Fix the files, omit them with --omit, or pass --allow-syntax-errors to ship them as .py source.', { details: lines });
  }
  for (const u of failed) ctx.warnings.push({ code: 'SYNTAX_ERROR_SHIPPED_AS_SOURCE', path: u.path, message: `${u.failed} (shipped as .py source)` });
}
