/**
 * The only place with English text for the terminal: summaries, the explain
 * listing, errors. Everything here is a pure function of result data.
 */
import { PackError } from './errors.js';
import type { Decision, PackResult, PackWarning, RuleRef } from './types.js';

export function formatMiB(bytes: number): string {
  return `${(Math.round((bytes / 1024 ** 2) * 100) / 100).toString()} MiB`;
}

/** `Created <zip> (3.3 MiB, 412 modules, 1531 omitted)` plus the other outputs and warnings. */
export function formatSummary(result: PackResult): string {
  const zip = result.outputs.find((o) => o.kind === 'zip')!;
  const lines = [`Created ${zip.path} (${formatMiB(zip.bytes)}, ${result.stats.modules} modules, ${result.stats.omitted} omitted${zip.replaced ? ', replaced' : ''})`];
  if (result.compression.reason) lines.push(`  zip entries ${result.compression.reason}`);
  for (const o of result.outputs) if (o.kind !== 'zip') lines.push(`  ${o.path} (${o.bytes} bytes${o.replaced ? ', replaced' : ''})`);
  const replaced = result.outputs.filter((o) => o.replaced);
  if (replaced.length && result.outInBuildRoot) {
    lines.push(
      `${replaced.length} output${replaced.length > 1 ? 's' : ''} replaced what \`make\` wrote in this build root (CPython's own assets, from wasm_assets.py).` +
        ' A later `make` relinks python.js with these; after a change to Lib/ it runs wasm_assets.py and writes its own again: run pywasm-assets after `make`, or pack into another --out.',
    );
  }
  if (result.warnings.length) {
    lines.push(`${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''}:`);
    for (const w of result.warnings) lines.push(`  ${formatWarning(w)}`);
  }
  return lines.join('\n') + '\n';
}

export function formatWarning(w: PackWarning): string {
  return `warning ${w.code}: ${w.message}`;
}

function citeRule(rule: RuleRef): string {
  return `${rule.id} (${rule.file} "${rule.pattern}")`;
}

function formatEvidence(rule: RuleRef | undefined, chain?: string[]): string[] {
  const lines: string[] = [];
  if (rule) lines.push(`        why: ${rule.reason}`);
  for (const e of rule?.evidence ?? []) lines.push(`        evidence: ${e}`);
  if (chain && chain.length > 1) lines.push(`        chain: ${chain.join(' -> ')}`);
  return lines;
}

/**
 * Groups omitted paths: a directory all of whose files were omitted by the
 * same rule is listed once as `dir/`.
 */
export function groupOmitted(decisions: Decision[]): { path: string; decision: Decision; files: number }[] {
  const byDir = new Map<string, { rules: Set<string>; all: boolean; count: number }>();
  for (const d of decisions) {
    const parts = d.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      const entry = byDir.get(dir) ?? { rules: new Set(), all: true, count: 0 };
      entry.count++;
      if (d.action === 'keep') entry.all = false;
      else entry.rules.add(`${d.rule?.id}\0${d.rule?.pattern}\0${d.chain?.join('>') ?? ''}`);
      byDir.set(dir, entry);
    }
  }
  const groups: { path: string; decision: Decision; files: number }[] = [];
  let covered: string | undefined;
  for (const d of decisions) {
    if (d.action !== 'omit') continue;
    if (covered && d.path.startsWith(covered)) continue;
    const parts = d.path.split('/');
    let chosen: string | undefined;
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      const e = byDir.get(dir)!;
      if (e.all && e.rules.size === 1) {
        chosen = dir;
        break;
      }
    }
    if (chosen) {
      covered = chosen;
      groups.push({ path: chosen, decision: d, files: byDir.get(chosen)!.count });
    } else groups.push({ path: d.path, decision: d, files: 1 });
  }
  return groups;
}

/**
 * One block per omitted file or fully omitted directory; then the kept modules
 * the import check says cannot be imported on the target (from `warnings`).
 */
export function formatExplain(decisions: Decision[], options: { all?: boolean; warnings?: PackWarning[] } = {}): string {
  const lines: string[] = [];
  for (const g of groupOmitted(decisions)) {
    const d = g.decision;
    const count = g.files > 1 ? ` (${g.files} files)` : '';
    lines.push(`omit  ${g.path}${count}  ${d.rule ? citeRule(d.rule) : ''}`);
    lines.push(...formatEvidence(d.rule, d.chain));
  }
  if (options.all) {
    for (const d of decisions) if (d.action === 'keep') lines.push(`keep  ${d.path}${d.rule ? `  ${citeRule(d.rule)}` : ''}`);
  }
  const failing = (options.warnings ?? []).filter((w) => w.code === 'IMPORT_UNAVAILABLE');
  for (const w of failing) lines.push(`fails ${w.path ?? w.module}  kept, but cannot be imported on the target: ${w.message}`);
  const kept = decisions.filter((d) => d.action === 'keep').length;
  lines.push(`${kept} kept, ${decisions.length - kept} omitted${failing.length ? `, ${failing.length} kept that cannot import` : ''}`);
  return lines.join('\n') + '\n';
}

/** The answer for one module or path; import-check findings about it are added. */
export function formatExplainOne(query: string, matches: Decision[], warnings: PackWarning[] = []): string {
  if (!matches.length) return `${query}: not in this stdlib (no module or file by that name)\n`;
  const lines: string[] = [];
  for (const d of matches) {
    if (d.action === 'keep') {
      lines.push(`keep  ${d.path}${d.rule ? `  ${citeRule(d.rule)}` : '  (no rule omits it)'}`);
      if (d.rule) lines.push(`        why: ${d.rule.reason}`);
      for (const w of warnings) {
        if (w.code === 'IMPORT_UNAVAILABLE' && w.path === d.path) lines.push(`        but it cannot be imported on the target: ${w.message}`);
      }
    } else {
      lines.push(`omit  ${d.path}  ${d.rule ? citeRule(d.rule) : ''}`);
      lines.push(...formatEvidence(d.rule, d.chain));
    }
  }
  return lines.join('\n') + '\n';
}

export function formatError(error: unknown): string {
  if (error instanceof PackError) {
    return `error ${error.code}: ${error.message}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`;
  }
  const e = error as Error;
  return `error: ${e?.stack ?? String(error)}\n`;
}
