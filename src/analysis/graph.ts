/**
 * The import graph of a bundle and its closure check. Pure functions over data:
 * the import records come from the build interpreter (src/python/imports.py),
 * the rule decisions from applyRules(), the target's modules from the build facts.
 *
 * Python semantics followed here (CPython 3.11, importlib._bootstrap):
 * - `import a.b.c` imports `a`, then `a.b`, then `a.b.c`; each must exist.
 * - `from p import n` imports `p`, then `p.n` only when `n` is not an attribute
 *   of `p` (`_handle_fromlist`); statically, `p.n` is needed when it is a module
 *   of the bundle, else `n` is taken to be an attribute of `p`.
 * - A relative import is resolved against the importer's package (`__package__`):
 *   the module itself for a package `__init__`, else its parent.
 * - Importing a submodule first imports its package, so every module `a.b`
 *   implicitly imports `a` (reported with `line: 0`).
 */

/** One import statement (or one alias of `import a, b`), as find_imports() reports it. */
export type ImportRecord = {
  /** Module as written: `urllib.request`, `decoder` in `from .decoder import x`, `''` in `from . import x`. */
  name: string;
  /** Leading dots of a relative import; 0 for absolute. */
  level: number;
  /** Names of `from m import a, b` (`['*']` for a star import); `[]` for `import m`. */
  names: string[];
  /** False when importing the module runs the statement (module level, unguarded). */
  conditional: boolean;
  /** 1-based line; 0 for the implicit import of a submodule's package. */
  line: number;
  /** A literal `importlib.import_module('x')` / `__import__('x')`. */
  dynamic?: boolean;
  /**
   * Not an import: the module assigns `sys.modules['<name>']` itself (`os` sets
   * `os.path`, `collections` sets `collections.abc` since 3.13), so `name` imports
   * without a file of its own once this module has run.
   */
  registers?: boolean;
  /**
   * Conditional only through platform tests that every WebAssembly target passes
   * (`if os.name == 'posix':`, the `else` of `if sys.platform == 'win32':`):
   * runs on import there. Present (true) only on conditional records.
   */
  onWasm?: boolean;
};

export interface ModuleNode {
  /** Dotted module name (`xml.sax.saxutils`; a package by its own name, `email`). */
  module: string;
  /** POSIX path relative to the stdlib root. */
  path: string;
  /** True for a package's `__init__.py`. */
  isPackage: boolean;
  imports: ImportRecord[];
}

/** What the target interpreter itself provides under a module name. */
export interface Provided {
  available: boolean;
  /** Why, e.g. `MODULE__LZMA_STATE = 'missing'` or `built in (Modules/Setup.bootstrap.in)`. */
  evidence?: string;
}

/** `undefined`: the target says nothing about this name (not built in, not an extension). */
export type ProvidedFn = (name: string) => Provided | undefined;

/** Why a module of the stdlib is not in the bundle. */
export interface OmittedReason {
  rule: string;
  reason: string;
}

export type ViolationCause =
  | { kind: 'omitted'; rule: string; reason: string }
  | { kind: 'unavailable-extension'; evidence?: string }
  | { kind: 'missing' }
  /** `from m import n` where `n` is known not to exist in `m` on the target (`codecs.mbcs_encode`). */
  | { kind: 'missing-name'; evidence: string };

/** A kept module whose unconditional import cannot succeed on the target. */
export interface Violation {
  /** The kept module that would fail to import. */
  module: string;
  path: string;
  /**
   * The absolute module name its statement imports (`email.message`; the package for
   * line 0); for a `missing-name` cause, `module.name` (`codecs.mbcs_encode`).
   */
  imports: string;
  line: number;
  /** Why the last module of `chain` is not importable (the root cause). */
  cause: ViolationCause;
  /**
   * From `module` to the root cause, each importing the next:
   * `['xml.sax.saxutils', 'urllib.request']`; after pruning
   * `['xml.sax.expatreader', 'xml.sax.saxutils', 'urllib.request']`.
   */
  chain: string[];
}

export interface ClosureInput {
  /** Modules the rules keep (in any order). */
  kept: ModuleNode[];
  /** Stdlib modules the rules omit, by dotted name. */
  omitted: Map<string, OmittedReason>;
  provided: ProvidedFn;
  /**
   * Evidence when `name` is known not to be defined by `module` on the target,
   * else undefined (see makeMissingName()). Checked for `from module import name`
   * when `name` is no module, directly and through `module`'s star imports.
   */
  missingName?: MissingNameFn;
  /**
   * The target is WebAssembly (os.name 'posix', sys.platform 'emscripten' or
   * 'wasi'): records marked `onWasm` count as unconditional. @default false
   */
  wasm?: boolean;
}

export type MissingNameFn = (module: string, name: string) => string | undefined;

export interface PrunedModule {
  module: string;
  path: string;
  /** The first failing import (by line) when it was pruned; `chain` leads to the root cause. */
  violation: Violation;
}

export interface PruneResult {
  /** The kept modules that still import, in input order. */
  kept: ModuleNode[];
  /** Modules pruned because they would fail to import, in pruning order (rounds, then name). */
  pruned: PrunedModule[];
}

/** `x.__main__` runs a program when imported (`python -m x`): never imported by the check. */
export function isMainModule(module: string): boolean {
  return module === '__main__' || module.endsWith('.__main__');
}

/** The package that `level` dots refer to from `importer`, or undefined past the top level. */
function anchorPackage(importer: string, isPackage: boolean, level: number): string | undefined {
  const parts = importer.split('.');
  if (!isPackage) parts.pop();
  for (let i = 1; i < level; i += 1) {
    if (parts.length === 0) return undefined;
    parts.pop();
  }
  if (parts.length === 0) return undefined; // "attempted relative import beyond top-level package"
  return parts.join('.');
}

/**
 * The absolute modules an import statement needs, in the order Python imports them
 * (each implies its parent packages; see prefixes()).
 *
 * `isModule(name)` says whether `name` is a module of the bundle (kept or omitted);
 * it decides whether `from p import n` needs the module `p.n` or only `p`.
 * Without it every `from` name is taken to be an attribute.
 * Returns `[]` for a relative import that goes past the top-level package.
 *
 * @example resolveImport('json.decoder', false, { name: 'scanner', level: 1, names: ['make_scanner'], ... })
 *   // → ['json.scanner']
 * @example resolveImport('xml.sax', true, { name: '', level: 1, names: ['handler', 'make_parser'], ... }, isModule)
 *   // → ['xml.sax', 'xml.sax.handler'] when xml.sax.handler is a module
 */
export function resolveImport(
  importer: string,
  isPackage: boolean,
  rec: ImportRecord,
  isModule: (name: string) => boolean = () => false,
): string[] {
  let base: string;
  if (rec.level > 0) {
    const anchor = anchorPackage(importer, isPackage, rec.level);
    if (anchor === undefined) return [];
    base = rec.name ? `${anchor}.${rec.name}` : anchor;
  } else {
    base = rec.name;
  }
  if (!base) return [];
  if (rec.names.length === 0) return [base];
  const out = [base];
  for (const n of rec.names) {
    if (n === '*') continue; // `from p import *` imports only p (and what p.__all__ names, which p imports itself)
    const sub = `${base}.${n}`;
    if (isModule(sub) && !out.includes(sub)) out.push(sub);
  }
  return out;
}

/** `a.b.c` → `['a', 'a.b', 'a.b.c']`. */
export function prefixes(name: string): string[] {
  const parts = name.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** The parent package of a module, or undefined for a top-level module. */
function parentOf(module: string): string | undefined {
  const i = module.lastIndexOf('.');
  return i < 0 ? undefined : module.slice(0, i);
}

interface Requirement {
  /** What the statement imports (absolute). */
  imports: string;
  line: number;
  /** The modules that must import, in order. */
  needs: string[];
  /** A failure known without the closure state (a missing name). */
  fixed?: ViolationCause;
}

/**
 * Why `name` is not defined by `module` on the target, looking through the star
 * imports of `module` when it is a kept module (codecs: `from _codecs import *`).
 */
function missingAttribute(module: string, name: string, missingName: MissingNameFn, kept: Map<string, ModuleNode>): string | undefined {
  const direct = missingName(module, name);
  if (direct !== undefined) return direct;
  const node = kept.get(module);
  if (!node) return undefined;
  for (const rec of node.imports) {
    if (!rec.names.includes('*')) continue;
    const [source] = resolveImport(node.module, node.isPackage, rec);
    const evidence = source === undefined ? undefined : missingName(source, name);
    if (evidence !== undefined) return `${evidence} (${module} re-exports ${source} with import *)`;
  }
  return undefined;
}

/** Every module a kept module must be able to import, in line order; the package first. */
function requirements(node: ModuleNode, closure: Closure): Requirement[] {
  const isModule = closure.isModule;
  const out: Requirement[] = [];
  const parent = parentOf(node.module);
  if (parent !== undefined) out.push({ imports: parent, line: 0, needs: prefixes(parent) });
  const seen = new Set<string>();
  for (const rec of node.imports) {
    if (rec.registers || (rec.conditional && !(closure.wasm && rec.onWasm))) continue;
    const targets = resolveImport(node.module, node.isPackage, rec, isModule);
    for (const target of targets) {
      if (seen.has(target) || target === node.module) continue;
      seen.add(target);
      out.push({ imports: target, line: rec.line, needs: prefixes(target) });
    }
    if (closure.missingName && rec.names.length > 0 && targets.length > 0) {
      const base = targets[0];
      for (const name of rec.names) {
        if (name === '*' || isModule(`${base}.${name}`)) continue;
        const evidence = missingAttribute(base, name, closure.missingName, closure.kept);
        if (evidence === undefined) continue;
        const imports = `${base}.${name}`;
        out.push({ imports, line: rec.line, needs: prefixes(base), fixed: { kind: 'missing-name', evidence } });
        break; // the first missing name fails the statement
      }
    }
  }
  return out;
}

type Status =
  | { ok: true }
  | { ok: false; cause: ViolationCause; chain: string[] };

/**
 * Closure state: the modules still kept, the pruned ones (with their chains),
 * and the rules' omissions and the target's modules.
 */
class Closure {
  readonly kept = new Map<string, ModuleNode>();
  /** Directories of kept modules that have no `__init__` (implicit namespace packages, PEP 420). */
  readonly namespaces = new Set<string>();
  readonly pruned = new Map<string, Violation>();
  readonly omitted: Map<string, OmittedReason>;
  readonly provided: ProvidedFn;
  readonly missingName?: MissingNameFn;
  readonly wasm: boolean;
  /**
   * Names a kept module puts in sys.modules itself, by the module that does: only
   * registrations by one of the name's own packages count (`os` for `os.path`), since
   * importing the name runs those first; any other would depend on import order.
   */
  readonly registered = new Map<string, string>();
  private readonly providedCache = new Map<string, Provided | undefined>();

  constructor(input: ClosureInput) {
    for (const node of input.kept) this.kept.set(node.module, node);
    this.wasm = input.wasm ?? false;
    for (const node of input.kept) {
      for (const rec of node.imports) {
        if (!rec.registers || (rec.conditional && !(this.wasm && rec.onWasm))) continue;
        if (rec.name.startsWith(`${node.module}.`)) this.registered.set(rec.name, node.module);
      }
    }
    for (const node of input.kept) {
      for (let p = parentOf(node.module); p !== undefined; p = parentOf(p)) {
        if (!this.kept.has(p) && !input.omitted.has(p)) this.namespaces.add(p);
      }
    }
    this.omitted = input.omitted;
    this.provided = input.provided;
    this.missingName = input.missingName;
  }

  /** A module of the bundle (kept or omitted): decides `from p import n`. */
  isModule = (name: string): boolean => this.kept.has(name) || this.omitted.has(name);

  private provide(name: string): Provided | undefined {
    if (!this.providedCache.has(name)) this.providedCache.set(name, this.provided(name));
    return this.providedCache.get(name);
  }

  /** Can `name` itself be imported (its packages are checked separately)? */
  status(name: string): Status {
    if (this.kept.has(name) || this.namespaces.has(name)) return { ok: true };
    // Its registering package is among the names checked before it (prefixes()).
    const registrar = this.registered.get(name);
    if (registrar !== undefined && this.kept.has(registrar)) return { ok: true };
    const provided = this.provide(name);
    if (provided?.available) return { ok: true };
    const pruned = this.pruned.get(name);
    if (pruned) return { ok: false, cause: pruned.cause, chain: pruned.chain };
    const omitted = this.omitted.get(name);
    if (omitted) return { ok: false, cause: { kind: 'omitted', rule: omitted.rule, reason: omitted.reason }, chain: [name] };
    if (provided) return { ok: false, cause: { kind: 'unavailable-extension', evidence: provided.evidence }, chain: [name] };
    return { ok: false, cause: { kind: 'missing' }, chain: [name] };
  }

  /** The violations of one kept module, one per failing import, in line order. */
  violations(node: ModuleNode, reqs: Requirement[]): Violation[] {
    const out: Violation[] = [];
    for (const req of reqs) {
      let failed = false;
      for (const name of req.needs) {
        const s = this.status(name);
        if (s.ok) continue;
        out.push({ module: node.module, path: node.path, imports: req.imports, line: req.line, cause: s.cause, chain: [node.module, ...s.chain] });
        failed = true;
        break;
      }
      if (!failed && req.fixed) {
        out.push({ module: node.module, path: node.path, imports: req.imports, line: req.line, cause: req.fixed, chain: [node.module, req.imports] });
      }
    }
    return out;
  }
}

function byModule(a: ModuleNode, b: ModuleNode): number {
  return a.module < b.module ? -1 : a.module > b.module ? 1 : 0;
}

/**
 * Checks every kept module's unconditional imports against the bundle and the
 * target. One violation per kept module and failing import, sorted by module
 * then line. `__main__` modules are skipped as importers.
 */
export function checkClosure(input: ClosureInput): Violation[] {
  const closure = new Closure(input);
  const out: Violation[] = [];
  for (const node of [...input.kept].sort(byModule)) {
    if (isMainModule(node.module)) continue;
    out.push(...closure.violations(node, requirements(node, closure)));
  }
  return out;
}

/**
 * Omits, to a fixpoint, every kept module that would fail to import: those with
 * a violation, then the modules that import them, and so on. Rounds run
 * breadth-first, so each chain is a shortest one from the module to a root cause.
 * `__main__` modules are neither checked nor pruned.
 */
export function pruneDependents(input: ClosureInput): PruneResult {
  const closure = new Closure(input);
  const reqs = new Map<string, Requirement[]>();
  /** name → modules whose requirements mention it. */
  const dependents = new Map<string, string[]>();
  const nodes = [...input.kept].filter((n) => !isMainModule(n.module)).sort(byModule);
  for (const node of nodes) {
    const r = requirements(node, closure);
    reqs.set(node.module, r);
    const names = new Set(r.flatMap((q) => q.needs));
    for (const name of names) {
      let list = dependents.get(name);
      if (!list) dependents.set(name, (list = []));
      list.push(node.module);
    }
  }
  const pruned: PrunedModule[] = [];
  let round = nodes.map((n) => n.module);
  while (round.length > 0) {
    const now: PrunedModule[] = [];
    for (const module of round) {
      const node = closure.kept.get(module);
      if (!node) continue;
      const [first] = closure.violations(node, reqs.get(module)!);
      if (first) now.push({ module, path: node.path, violation: first });
    }
    // Apply the round at once: a chain then never runs through a module pruned in the same round.
    for (const p of now) {
      closure.kept.delete(p.module);
      closure.pruned.set(p.module, p.violation);
      pruned.push(p);
    }
    const next = new Set<string>();
    for (const p of now) for (const d of dependents.get(p.module) ?? []) if (closure.kept.has(d)) next.add(d);
    round = [...next].sort();
  }
  const gone = new Set(pruned.map((p) => p.module));
  return { kept: input.kept.filter((n) => !gone.has(n.module)), pruned };
}

/** The data of rules/builtins/<version>.json. */
export interface BuiltinsData {
  version: string;
  source: string;
  /** Modules built into every interpreter of this version, whatever its configuration. */
  builtin: string[];
  /** Stdlib modules frozen into the interpreter (also in Lib/); used only with `frozen: true`. */
  frozen: string[];
  /** Names that are no module file: `{ "__main__": "the running program" }` (sys.modules registrations are read from the sources). */
  aliases: Record<string, string>;
  /** Extension modules that have a `MODULE_<NAME>_STATE` build variable. */
  stdlibExtensions: string[];
  /** Extension modules setup.py builds in this version (no `MODULE_<NAME>_STATE`). */
  setupPyExtensions: string[];
  /** Built-in and extension modules of the Windows build only (`nt`, `_winapi`, `msvcrt`, ...). */
  windowsOnly: string[];
  /** Functions of built-in modules defined only in Windows builds: `{ _codecs: ['mbcs_encode', ...] }`. */
  windowsOnlyAttributes: Record<string, string[]>;
  /** Top-level names of the whole stdlib of this version (`sys.stdlib_module_names` plus `test`). */
  stdlibModules: string[];
}

export interface ProvidedFacts {
  builtins: BuiltinsData;
  /**
   * Extension-module availability as the build facts decided it (build-facts.ts
   * `moduleFacts`: MODDISABLED_NAMES, then MODULE_<NAME>_STATE), with evidence.
   */
  modules: ReadonlyMap<string, { available: boolean; evidence: string }>;
  /** Where the facts came from, for the evidence of an extension module they do not name. */
  statesSource?: string;
  /** Count the frozen stdlib modules as provided (`-X frozen_modules=on`). @default false */
  frozen?: boolean;
}

/**
 * Builds the `provided` function of checkClosure(): the interpreter's built-ins,
 * then the build facts' extension modules (decided by build-facts.ts the
 * reference's way), and an extension module the facts do not name is
 * unavailable. Names that are no extension module give undefined.
 */
export function makeProvided(facts: ProvidedFacts): ProvidedFn {
  const { builtins } = facts;
  const builtin = new Set(builtins.builtin);
  const frozen = new Set(facts.frozen ? builtins.frozen : []);
  const extensions = new Set([...builtins.stdlibExtensions, ...builtins.setupPyExtensions]);
  const windows = new Set(builtins.windowsOnly);
  const from = facts.statesSource ? ` in ${facts.statesSource}` : '';
  return (name) => {
    if (builtin.has(name)) return { available: true, evidence: `built into CPython ${builtins.version}` };
    if (frozen.has(name)) return { available: true, evidence: `frozen into CPython ${builtins.version}` };
    if (Object.hasOwn(builtins.aliases, name)) return { available: true, evidence: `set by ${builtins.aliases[name]}` };
    const fact = facts.modules.get(name);
    if (fact) return { available: fact.available, evidence: fact.evidence };
    if (extensions.has(name)) return { available: false, evidence: `no MODULE_${name.toUpperCase()}_STATE${from}` };
    if (windows.has(name)) return { available: false, evidence: `${name} exists only in Windows builds of CPython` };
    return undefined;
  };
}

/**
 * The `missingName` function of checkClosure() for a non-Windows target: the
 * functions CPython defines only under MS_WINDOWS in its built-in modules.
 * @example makeMissingName(builtins)('_codecs', 'mbcs_encode') // → 'mbcs_encode exists only in Windows builds of _codecs'
 */
export function makeMissingName(builtins: BuiltinsData): MissingNameFn {
  const table = new Map(Object.entries(builtins.windowsOnlyAttributes).map(([m, names]) => [m, new Set(names)]));
  return (module, name) => (table.get(module)?.has(name) ? `${name} exists only in Windows builds of ${module}` : undefined);
}
