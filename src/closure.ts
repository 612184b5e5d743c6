/**
 * Import closure (issue "Bundle health"): placeholder until the import graph lands.
 */
import type { ResolvedOptions } from './options.js';
import type { Decision, PackWarning } from './types.js';

export interface ImportGraphReport {
  /** Stdlib-relative paths pruned because an unconditional import cannot succeed. */
  pruned: Set<string>;
  /** Per-module verdicts for --json / --explain. */
  verdicts: Map<string, unknown>;
}

export async function analyzeImports(
  _options: ResolvedOptions,
  _units: { path: string; module: string; origin: string; imports?: unknown[] }[],
  _decisions: Decision[],
  _warnings: PackWarning[],
): Promise<ImportGraphReport> {
  return { pruned: new Set(), verdicts: new Map() };
}
