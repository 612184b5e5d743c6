/**
 * pack() and explain(): the pipeline, one stage per line, each in its module:
 *
 *   options      resolve the options with the build interpreter's answer  pipeline/options/
 *   discover     walk the stdlib                                           pipeline/discover.ts
 *   rules        decide every path                                         pipeline/rules.ts
 *   read         read the sources of what ships                            pipeline/read.ts
 *   compile      compile (and compress) through the cache                  pipeline/compile.ts
 *   imports      check the import graph, prune what cannot import          pipeline/check-imports.ts
 *   hints        the modules that explain omitted imports (opt-in)         pipeline/omitted-hints/
 *   assemble     the zip, os.py, .empty and the package                    pipeline/assemble.ts
 *   precompress  .br / .gz copies of the zip and the .data (opt-in)        output/precompress.ts
 *   write        all outputs or none                                       output/write.ts
 *
 * Beside the pipeline, two pieces only make a run faster: the warm start
 * (cache/warm-start.ts) has the build interpreter's answer without starting it when
 * its identity holds, else runs the pipeline on its last answer while it starts and
 * keeps that only once the interpreter confirms it; the result memo
 * (cache/result-memo.ts) reuses the outputs of an earlier run whose every read reads
 * the same. Nothing is written before the answer is confirmed.
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { reuseOrMake } from './cache/result-memo.js';
import { warmStart, type RunInput } from './cache/warm-start.js';
import { checkInterrupted, interrupted, PackError } from './errors.js';
import { precompressFiles } from './output/precompress.js';
import { differs, writeFilesAtomic } from './output/write.js';
import { loadZipWriter } from './output/zip.js';
import { assembleOutputs, checkStartupModules, keptModules, omittedFiles, type PlannedFile } from './pipeline/assemble.js';
import { analyzeImports, type ImportGraphReport } from './pipeline/check-imports.js';
import { checkCompileFailures, compileUnits } from './pipeline/compile.js';
import { newContext, stage, type Context, type Unit } from './pipeline/context.js';
import { discoverStdlib, moduleName, type DiscoverResult } from './pipeline/discover.js';
import { omittedHintUnits } from './pipeline/omitted-hints/index.js';
import { readUnits } from './pipeline/read.js';
import { builtinRuleFiles, decideFiles, loadRules, type PrunedDirectory, type Rule } from './pipeline/rules.js';
import type { Decision, KeptModule, PackOptions, PackResult, PackWarning } from './types.js';

export { moduleName };

/** What the pipeline made, before anything is written. */
interface Made {
  ctx: Context;
  decisions: Decision[];
  kept: KeptModule[];
  modules: number;
  files: PlannedFile[];
  /** The outputs of an earlier run made from the same inputs (cache/result-memo.ts). */
  reused: boolean;
}

/** The rule files, all checked before any work starts (the user's are read with the `fs` option). */
function rulesFor(input: PackOptions): Rule[] {
  const cwd = input.cwd ?? process.cwd();
  return loadRules([...builtinRuleFiles(nodeFs), ...(input.rules ?? []).map((r) => path.resolve(cwd, r))], input.fs ?? nodeFs);
}

/** The stdlib's walk: the first stage, which every run does. */
async function discovered(run: RunInput, rules: Rule[]) {
  const ctx = newContext(run.options, run.warnings, { resolve: run.resolveMs });
  const { tree, pruned } = await stage(ctx, 'discover', () => discoverStdlib(ctx, rules, run.ahead));
  return { ctx, tree, pruned };
}

/** Rules to the import check: what both pack() and explain() need. */
async function decide(ctx: Context, rules: Rule[], tree: DiscoverResult, pruned: PrunedDirectory[]): Promise<{ decisions: Decision[]; units: Unit[]; graph: ImportGraphReport }> {
  const decisions = await stage(ctx, 'rules', () => decideFiles(ctx, rules, tree, pruned));
  const units = await stage(ctx, 'read', () => readUnits(ctx, tree, decisions));
  await compileUnits(ctx, units);
  checkCompileFailures(ctx, units);
  const graph = await stage(ctx, 'imports', () => analyzeImports(ctx.options, units, decisions, ctx.warnings));
  return { decisions, units, graph };
}

/**
 * The whole pipeline up to the files to write: after the walk, the result of an
 * earlier run made from the same inputs when the cache holds one that still reads the
 * same (cache/result-memo.ts), else the stages.
 */
async function make(run: RunInput, rules: Rule[]): Promise<Made> {
  const { ctx, tree, pruned } = await discovered(run, rules);
  const { value, files, reused } = await reuseOrMake(ctx, { rules, tree, pruned }, async () => {
    loadZipWriter().catch(() => {}); // loaded while the sources compile; used at the end
    const { decisions, units: checked, graph } = await decide(ctx, rules, tree, pruned);
    let units = checked.filter((u) => !(u.origin === 'stdlib' && graph.pruned.has(u.path)));
    checkStartupModules(units, decisions);
    units = [...units, ...(await omittedHintUnits(ctx, units, decisions))];
    checkStrict(ctx.options.strict, ctx.warnings);
    const files = await stage(ctx, 'zip', () => assembleOutputs(ctx, units));
    const { precompress, fs, cache, cacheDir } = ctx.options;
    if (precompress.length) files.push(...(await stage(ctx, 'precompress', () => precompressFiles(files, precompress, fs, cache ? cacheDir : undefined))));
    return { value: { decisions, kept: keptModules(ctx.options, units, graph), modules: units.length }, files };
  });
  return { ctx, ...value, files, reused };
}

function checkStrict(strict: boolean, warnings: PackWarning[]): void {
  if (!strict || !warnings.length) return;
  throw new PackError('ERR_STRICT', `--strict: ${warnings.length} warning${warnings.length > 1 ? 's' : ''}:\n  ${warnings.map((w) => w.message).join('\n  ')}`, 'Fix the warnings, or drop --strict.', { details: warnings.map((w) => w.message) });
}

/** The error of a run, or ERR_INTERRUPTED (with it as cause) when the run was interrupted: an abort makes its own errors. */
function asInterrupted(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted && !(error instanceof PackError && error.code === 'ERR_INTERRUPTED') ? interrupted(signal, error) : error;
}

export async function pack(input: PackOptions): Promise<PackResult> {
  try {
    return await packNow(input);
  } catch (error) {
    throw asInterrupted(input.signal, error);
  }
}

async function packNow(input: PackOptions): Promise<PackResult> {
  const started = performance.now();
  const rules = rulesFor(input);
  const { value, warm } = await warmStart(input, rules, (run) => make(run, rules));
  const { ctx, decisions, kept, modules, files, reused } = value;
  const { options } = ctx;
  // Files that were there with other contents (a rerun that writes the same bytes replaces nothing).
  const replaced = new Set(files.filter((f) => differs(options.fs, f.path, f.data)).map((f) => f.path));
  // Synchronous from this check to the last rename: an abort (a signal) is seen after it, never in between.
  checkInterrupted(input.signal);
  await stage(ctx, 'write', () => writeFilesAtomic(options.fs, files));

  const omitted = omittedFiles(decisions);
  ctx.timings.total = Math.round(performance.now() - started);
  return {
    version: options.version,
    target: options.target,
    profile: options.profile,
    compression: { method: options.compression, ...(options.compressionReason ? { reason: options.compressionReason } : {}) },
    ...(options.builddir && options.out === options.builddir ? { outInBuildRoot: true as const } : {}),
    ...(options.pyodide ? { pyodide: { dir: options.pyodide.dir, release: options.pyodide.release, python: options.pyodide.python ?? options.python.version } } : {}),
    kept,
    omitted,
    decisions,
    outputs: files.map((f) => ({
      path: f.path,
      kind: f.kind,
      bytes: typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.length,
      ...(f.of ? { of: f.of, encoding: f.encoding } : {}),
      ...(replaced.has(f.path) ? { replaced: true as const } : {}),
    })),
    warnings: ctx.warnings,
    stats: {
      modules,
      omitted: omitted.length,
      zipBytes: files.find((f) => f.kind === 'zip')!.data.length,
      cacheHits: ctx.cacheHits,
      cacheMisses: ctx.cacheMisses,
      warmStart: warm,
      ...(reused ? { reused: true as const } : {}),
      timings: ctx.timings,
    },
  };
}

export interface ExplainResult {
  version: string;
  target: PackResult['target'];
  profile: PackResult['profile'];
  lib: string;
  decisions: Decision[];
  warnings: PackWarning[];
}

/** Decisions for every discovered path, import closure included; writes no outputs (the compile cache may fill). */
export async function explain(input: PackOptions): Promise<ExplainResult> {
  const rules = rulesFor(input);
  let made;
  try {
    made = (
      await warmStart(input, rules, async (run) => {
        const { ctx, tree, pruned } = await discovered(run, rules);
        return { ctx, ...(await decide(ctx, rules, tree, pruned)) };
      })
    ).value;
  } catch (error) {
    throw asInterrupted(input.signal, error);
  }
  const { ctx, decisions } = made;
  const { options } = ctx;
  return { version: options.version, target: options.target, profile: options.profile, lib: options.lib, decisions, warnings: ctx.warnings };
}
