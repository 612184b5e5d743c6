/**
 * `omittedHints`: renders the two modules that explain, at runtime, why an
 * import failed — the ModuleNotFoundError for a module this bundle omitted gets
 * a PEP 678 note with the rule's id and reason. The mechanism (and why not a
 * meta-path finder, pyodide#3262/#3263/#4484) is documented in
 * src/pipeline/omitted-hints/omitted_hints.py.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PackError } from '../../errors.js';
import { HINT_TEMPLATES_DIR } from '../../package-paths.js';
import type { Decision } from '../../types.js';
import { checkCompileFailures, compileUnits } from '../compile.js';
import type { Context, Unit } from '../context.js';
import { moduleName } from '../discover.js';

/** Zip-root module that holds the table and installs the hook when imported. */
export const HINTS_MODULE_PATH = '_pywasm_assets_hints.py';
/** Zip-root `sitecustomize`: CPython's `site` imports it at startup (opt out with `-S` or `PYWASM_ASSETS_HINTS=0`). */
export const HINTS_SITECUSTOMIZE_PATH = 'sitecustomize.py';

export interface OmittedModule {
  /** Dotted module name, e.g. `sqlite3` or `urllib.request`. */
  module: string;
  /** Rule id, e.g. `ext-sqlite3`. */
  rule: string;
  /** The rule's human reason. */
  reason: string;
}

export interface RenderedModule {
  /** Path at the zip root. */
  path: string;
  source: string;
}

// Templates ship next to the compiled code (npm run build copies src/**/*.py to dist/).
const templateUrl = (name: string) => path.join(HINT_TEMPLATES_DIR, name);

/**
 * Python source of the hint modules for `omitted`, sorted by path. The output is
 * deterministic: input order does not matter; a module inside an omitted
 * package is dropped (an import of it fails on the package first, and the
 * hook looks names up parent by parent), and so is a name that is not a
 * dotted identifier (e.g. `site-packages.pip`), which no import can spell.
 *
 * @example
 * renderOmittedHints([{ module: 'sqlite3', rule: 'ext-sqlite3', reason: '_sqlite3 is unavailable' }])
 * // → [{ path: '_pywasm_assets_hints.py', source }, { path: 'sitecustomize.py', source }]
 */
export function renderOmittedHints(omitted: OmittedModule[]): RenderedModule[] {
  const byModule = new Map<string, OmittedModule>();
  for (const entry of [...omitted].sort(compareEntries)) {
    if (isImportable(entry.module) && !byModule.has(entry.module)) byModule.set(entry.module, entry);
  }
  const outermost = [...byModule.values()].filter((entry) => !hasOmittedParent(entry.module, byModule));

  const reasons = [...new Set(outermost.map((e) => JSON.stringify([e.rule, e.reason])))].sort();
  const reasonIndex = new Map(reasons.map((key, index) => [key, index]));
  const omittedLines = outermost
    .map((e) => `    ${pyString(e.module)}: ${reasonIndex.get(JSON.stringify([e.rule, e.reason]))},`)
    .sort();
  const reasonLines = reasons.map((key) => {
    const [rule, reason] = JSON.parse(key) as [string, string];
    return `    (${pyString(rule)}, ${pyString(reason)}),`;
  });

  const hints = fill(readFileSync(templateUrl('omitted_hints.py'), 'utf8'), {
    OMITTED: block('{', omittedLines, '}'),
    REASONS: block('[', reasonLines, ']'),
  });
  const sitecustomize = readFileSync(templateUrl('omitted_hints_sitecustomize.py'), 'utf8');
  return [
    { path: HINTS_MODULE_PATH, source: hints },
    { path: HINTS_SITECUSTOMIZE_PATH, source: sitecustomize },
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function compareEntries(a: OmittedModule, b: OmittedModule): number {
  for (const key of ['module', 'rule', 'reason'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  return 0;
}

// A name no `import` statement can spell (`site-packages.pip`, a sysconfigdata
// with `-` in its name) can never reach the hook: leave it out of the table.
const IDENTIFIER = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;
function isImportable(module: string): boolean {
  return module.split('.').every((part) => IDENTIFIER.test(part));
}

function hasOmittedParent(module: string, omitted: Map<string, unknown>): boolean {
  for (let dot = module.lastIndexOf('.'); dot > 0; dot = module.lastIndexOf('.', dot - 1)) {
    if (omitted.has(module.slice(0, dot))) return true;
  }
  return false;
}

/** A Python str literal: JSON's escapes (\" \\ \n \uXXXX) all mean the same in Python. */
function pyString(value: string): string {
  return JSON.stringify(value);
}

function block(open: string, lines: string[], close: string): string {
  return lines.length === 0 ? open + close : `${open}\n${lines.join('\n')}\n${close}`;
}

/** Replaces each `NAME = ...  # pywasm-assets: NAME` line of the template. */
function fill(template: string, values: Record<string, string>): string {
  let out = template;
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^${name} = .*# pywasm-assets: ${name}$`, 'm');
    if (!line.test(out)) throw new Error(`omitted_hints.py template has no "${name}" placeholder line`);
    out = out.replace(line, () => `${name} = ${value}`);
  }
  return out;
}

// --- the stage -----------------------------------------------------------------------

/**
 * With `omittedHints`: the two hint modules for what this bundle omits (by a rule,
 * not for structure), compiled like every other unit. They must not clash with a module
 * the bundle has (an --add sitecustomize.py, say; a distribution's own, the host's
 * configuration, is omitted by rule host-config). A module they provide themselves
 * (that omitted sitecustomize) is not in their table: its import succeeds.
 */
export async function omittedHintUnits(ctx: Context, units: Unit[], decisions: Decision[]): Promise<Unit[]> {
  if (!ctx.options.omittedHints) return [];
  const provided = new Set([HINTS_MODULE_PATH, HINTS_SITECUSTOMIZE_PATH]);
  const omittedModules = decisions
    .filter((d) => d.action === 'omit' && d.path.endsWith('.py') && d.rule && !d.rule.id.startsWith('structure/') && !provided.has(d.path))
    .map((d) => ({ module: moduleName(d.path), rule: d.rule!.id, reason: d.rule!.reason }));
  const hintUnits: Unit[] = renderOmittedHints(omittedModules).map((m) => ({
    path: `<generated>/${m.path}`,
    stem: m.path.replace(/\.py$/, ''),
    module: moduleName(m.path),
    source: new TextEncoder().encode(m.source),
    origin: 'generated',
  }));
  const clash = hintUnits.find((h) => units.some((u) => u.stem === h.stem));
  if (clash) throw new PackError('ERR_ADD', `--omitted-hints adds ${clash.stem}.py, which the bundle already has.`, 'Drop --omitted-hints or rename your module.');
  await compileUnits(ctx, hintUnits);
  checkCompileFailures(ctx, hintUnits);
  return hintUnits;
}
