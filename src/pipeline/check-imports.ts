/**
 * Stage: the import closure of the bundle (issue "Bundle health").
 * With the imports the build interpreter reported while compiling, checks that
 * every kept module's unconditional imports can succeed on the target:
 * - profile `cpython` (the reference's lists, unchanged): each violation is a
 *   warning `IMPORT_UNAVAILABLE` (fatal with --strict);
 * - profile `wasm`: modules that cannot import are pruned, to a fixpoint, and
 *   their decision cites the chain (`a imports b, which rule R omits`);
 * - profile `pyodide`: the same, for imports of what a rule (or --omit) omitted
 *   only. Whatever else the distribution's zip ships imports there as it does
 *   from Pyodide's own zip: Pyodide has modules its build facts call missing
 *   (its sysconfigdata says `_ctypes` is, and ctypes imports) and loads others
 *   on demand (ssl, sqlite3, lzma as packages of their own), so the drop-in drops
 *   nothing of it on the facts' word.
 */
import { makeMissingName, makeProvided, prefixes, pruneDependents, type ImportRecord, type ModuleNode, type OmittedReason, type Violation } from '../analysis/graph.js';
import { moduleName } from './discover.js';
import type { ResolvedOptions } from './options/index.js';
import type { Decision, PackWarning } from '../types.js';

export interface ImportVerdict {
  /** `imports`: every unconditional import can succeed; `fails`: see `violations`. */
  verdict: 'imports' | 'fails';
  violations?: { imports: string; line: number; chain: string[]; cause: Violation['cause'] }[];
}

export interface ImportGraphReport {
  /** Stdlib-relative paths pruned (profile wasm) because an unconditional import cannot succeed. */
  pruned: Set<string>;
  /** Verdict per kept module (dotted name). */
  verdicts: Map<string, ImportVerdict>;
  violations: Violation[];
}


/**
 * English for warnings and decisions, e.g.
 * `xml.sax.saxutils imports urllib.request, omitted by rule net-http (...)`;
 * `pty imports tty, which imports termios, an extension module the target lacks (...)`.
 */
export function describeViolation(v: Violation): string {
  const hops = v.chain.length > 1 ? v.chain.slice(1) : [v.imports];
  let text = `${v.module} imports ${v.imports}`;
  for (const hop of hops.slice(1)) text += `, which imports ${hop}`;
  const last = hops[hops.length - 1];
  if (hops.length === 1 && last !== v.imports) text += ` (package ${last})`;
  switch (v.cause.kind) {
    case 'omitted':
      return `${text}, omitted by rule ${v.cause.rule} (${v.cause.reason})`;
    case 'unavailable-extension':
      return `${text}, an extension module the target lacks (${v.cause.evidence ?? 'unavailable'})`;
    case 'missing-name':
      return `${text}, which does not exist on the target (${v.cause.evidence})`;
    default:
      return `${text}, which is neither in the bundle nor provided by the target`;
  }
}

export async function analyzeImports(
  options: ResolvedOptions,
  units: { path: string; module: string; origin: string; imports?: unknown[] }[],
  decisions: Decision[],
  warnings: PackWarning[],
): Promise<ImportGraphReport> {
  const kept: ModuleNode[] = units.map((u) => ({
    module: u.module,
    path: u.path,
    isPackage: u.path.endsWith('__init__.py'),
    imports: (u.imports ?? []) as ImportRecord[],
  }));
  const omitted = new Map<string, OmittedReason>();
  for (const d of decisions) {
    if (d.action !== 'omit' || !d.path.endsWith('.py') || !d.rule) continue;
    const name = moduleName(d.path);
    if (!omitted.has(name)) omitted.set(name, { rule: d.rule.id, reason: d.rule.reason });
  }
  const builtins = options.builtins;
  const fromBuild = makeProvided({ builtins, modules: options.facts.modules, statesSource: options.facts.source });
  const runtime = new Set(options.provides);
  // A module the runtime provides covers its submodules: a runtime's modules are often
  // namespaces its own finder fills (Pyodide: `import pyodide_js._api`).
  const byRuntime = (name: string) => prefixes(name).find((p) => runtime.has(p));
  const provided = (name: string) => {
    const root = byRuntime(name);
    return root ? { available: true, evidence: `${root === name ? name : `${name} (in ${root})`} is provided by the runtime (--provides)` } : fromBuild(name);
  };
  const pyodide = options.profile === 'pyodide';
  const byPyodide = (name: string) => (omitted.has(name) ? undefined : { available: true, evidence: `${name}: Pyodide's to provide (its own zip ships the modules that import it)` });
  // Every target is WebAssembly: imports behind `os.name == 'posix'`-style tests run there (wasm: true).
  const input = { kept, omitted, provided: pyodide ? byPyodide : provided, missingName: pyodide ? undefined : makeMissingName(builtins), wasm: true };
  const report: ImportGraphReport = { pruned: new Set(), verdicts: new Map(), violations: [] };
  for (const u of units) report.verdicts.set(u.module, { verdict: 'imports' });

  if (options.profile === 'wasm' || pyodide) {
    const result = pruneDependents(input);
    const byPath = new Map(decisions.map((d) => [d.path, d]));
    for (const p of result.pruned) {
      report.pruned.add(p.path);
      report.violations.push(p.violation);
      report.verdicts.delete(p.module);
      const d = byPath.get(p.path);
      if (!d) continue; // --add modules are never omitted; they stay in the report
      d.action = 'omit';
      d.chain = p.violation.chain;
      d.rule = {
        id: 'import-closure',
        file: '<import graph>',
        pattern: p.module,
        reason: `cannot be imported on the target: ${describeViolation(p.violation)}`,
      };
    }
    // --add modules are never pruned: report them instead.
    for (const p of result.pruned.filter((x) => !byPath.has(x.path))) {
      report.pruned.delete(p.path);
      report.verdicts.set(p.module, verdictOf([p.violation]));
      warnings.push({ code: 'IMPORT_UNAVAILABLE', path: p.path, module: p.module, message: describeViolation(p.violation) });
    }
  } else {
    // The reference's lists stay as they are; every module that would fail to import is reported,
    // including those that fail only through another kept module (pty via tty) or their package.
    report.violations = pruneDependents(input).pruned.map((p) => p.violation);
    for (const v of report.violations) {
      report.verdicts.set(v.module, verdictOf([v]));
      warnings.push({ code: 'IMPORT_UNAVAILABLE', path: v.path, module: v.module, message: describeViolation(v) });
    }
  }
  return report;
}

function verdictOf(vs: Violation[]): ImportVerdict {
  return { verdict: 'fails', violations: vs.map((v) => ({ imports: v.imports, line: v.line, chain: v.chain, cause: v.cause })) };
}
