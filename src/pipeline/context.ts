/**
 * What the stages of one run share: the resolved options, the warnings and
 * timings so far, the compile cache once opened, and the unit of work (one
 * module to ship) that flows from `read` to the zip.
 */
import { performance } from 'node:perf_hooks';
import type { PackCache } from '../cache/compile-cache.js';
import { checkInterrupted } from '../errors.js';
import type { CompressedEntry } from '../output/zip.js';
import type { PackWarning } from '../types.js';
import type { ResolvedOptions } from './options/index.js';

/** One module of the bundle, from its source to its zip entries. */
export interface Unit {
  /** Source path for messages: stdlib-relative, or absolute for --add and sysconfigdata. */
  path: string;
  /** Name in the zip without extension: `json/decoder`, `json/__init__`. */
  stem: string;
  module: string;
  source: Uint8Array;
  origin: 'stdlib' | 'add' | 'sysconfigdata' | 'generated';
  pyc?: CompressedEntry;
  py?: CompressedEntry;
  imports?: unknown[];
  /** `file:line: message` when the source does not compile. */
  failed?: string;
}

export interface Context {
  options: ResolvedOptions;
  warnings: PackWarning[];
  /** Milliseconds per phase. */
  timings: Record<string, number>;
  cacheHits: number;
  cacheMisses: number;
  /** Opened at the first compile, shared by the later ones (one read, one write of the cache file per run). */
  cache?: PackCache;
}

export function newContext(options: ResolvedOptions, warnings: PackWarning[], timings: Record<string, number> = {}): Context {
  return { options, warnings: [...warnings], timings: { ...timings }, cacheHits: 0, cacheMisses: 0 };
}

/** Runs one phase, adding its wall time to `ctx.timings[phase]`; none starts once the run is interrupted. */
export async function stage<T>(ctx: Context, phase: string, fn: () => Promise<T> | T): Promise<T> {
  checkInterrupted(ctx.options.signal);
  const start = performance.now();
  try {
    return await fn();
  } finally {
    ctx.timings[phase] = (ctx.timings[phase] ?? 0) + Math.round((performance.now() - start) * 10) / 10;
  }
}
