/**
 * Stage 2: omit rules. `loadRules()` reads and validates rule files (JSON,
 * data only); `applyRules()` is pure: paths + rules + build facts → one
 * decision per path.
 *
 * Precedence, highest first (README "Rules"):
 *   1. `--keep` globs          2. `--omit` globs
 *   3. a rule's `keep` glob    4. a rule's `omit` glob (first rule in load order is cited)
 *   5. kept by default
 * Files that cannot be modules (data files; .py outside a package) are never
 * candidates: they are omitted by the structural rules below whatever else matches.
 */
import picomatch from 'picomatch';
import nodeFs from 'node:fs';
import path from 'node:path';
import { clip, PackError, shown as show } from '../errors.js';
import type { Context } from './context.js';
import { compareCodePoints, type DiscoverResult } from './discover.js';
import type { ResolvedOptions } from './options/index.js';
import type { ModuleFact } from './build-facts/index.js';
import type { Decision, PackFs, PackProfile, PackTarget, PackWarning, RuleRef } from '../types.js';
import { RULES_DIR } from '../package-paths.js';
import { readFailure, readRegularFile } from '../read-file.js';

export interface RuleCondition {
  /** Target platforms the rule applies to. */
  platform?: ('emscripten' | 'wasi')[];
  /** Targets the rule applies to. */
  target?: PackTarget[];
  /** Extension modules: the rule applies when any of them is unavailable. */
  unavailable?: string[];
}

export interface Rule {
  id: string;
  reason: string;
  /** File the rule came from (relative to the package for built-in rules). */
  file: string;
  profiles: PackProfile[];
  when?: RuleCondition;
  /** The Python versions the rule concerns (`>=3.12`, `<3.13`, `3.11`, `>=3.11 <3.13`); all when absent. */
  python?: string;
  omit: string[];
  keep: string[];
  /** Globs that concern only some Python versions (a module added or removed in one): glob → range. */
  globPython?: Record<string, string>;
  /** Patterns may match nothing without a warning (layout-dependent paths). */
  optional?: boolean;
  /** Directories its `dir/` globs omit are not walked at all; each is one decision (`dir/`). */
  prune?: boolean;
}

/** Directory of the built-in rules (works from src/ and dist/). */
export { RULES_DIR };

/** Built-in rule files, in load order. */
export function builtinRuleFiles(fs: PackFs = nodeFs): string[] {
  return fs
    .readdirSync(RULES_DIR)
    .filter((name) => String(name).endsWith('.json'))
    .map((name) => path.join(RULES_DIR, String(name)))
    .sort();
}

const PROFILES: PackProfile[] = ['cpython', 'wasm', 'pyodide'];
/**
 * The profiles a built-in rule without `profiles` belongs to. Not `pyodide`: a Pyodide
 * distribution ships a stdlib it trimmed already, so only the rules that name that
 * profile apply to it. A user's rule file without `profiles` applies in every profile.
 */
const BUILTIN_DEFAULT_PROFILES: PackProfile[] = ['cpython', 'wasm'];
const PLATFORMS = ['emscripten', 'wasi'];
const TARGETS = ['emscripten-browser', 'emscripten-node', 'wasi', 'pyodide'];
const RULE_KEYS = new Set(['id', 'reason', 'profiles', 'when', 'python', 'omit', 'keep', 'optional', 'prune', '$comment', 'source']);
const WHEN_KEYS = new Set(['platform', 'target', 'unavailable']);
const FILE_KEYS = new Set(['$schema', '$comment', 'description', 'rules']);
const ID_RE = /^[a-z0-9][a-z0-9._/-]*$/;
/** Ids, reasons and globs are shown in --explain and in messages: bounded, so that a stray megabyte cannot be. */
const MAX_ID_LENGTH = 100;
const MAX_REASON_LENGTH = 2000;
/** A glob longer than any path (PATH_MAX) is a mistake; picomatch refuses ones over 65536 characters with a bare error. */
export const MAX_GLOB_LENGTH = 4096;

/**
 * Reads and validates rule files. Every problem of every file is collected and
 * reported together in one ERR_RULE_INVALID. The package's own rules (under
 * RULES_DIR) are always read with node:fs; other files with `fs`.
 */
export function loadRules(files: string[], fs: PackFs = nodeFs, displayBase = RULES_DIR): Rule[] {
  const problems: string[] = [];
  const rules: Rule[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const shown = file.startsWith(displayBase) ? 'rules/' + path.relative(displayBase, file).split(path.sep).join('/') : file;
    let text: string;
    try {
      text = readRegularFile(file.startsWith(RULES_DIR) ? nodeFs : fs, file).toString('utf8');
    } catch (error) {
      problems.push(`${shown}: cannot read the file (${readFailure(error)}).`);
      continue;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      problems.push(`${shown}: not valid JSON: ${clip((error as Error).message)}.`);
      continue;
    }
    const before = problems.length;
    const parsed = validateRuleFile(data, shown, problems, file.startsWith(RULES_DIR) ? BUILTIN_DEFAULT_PROFILES : PROFILES);
    if (problems.length > before) continue;
    for (const rule of parsed) {
      const other = seen.get(rule.id);
      if (other) problems.push(`${shown}: rule id "${rule.id}" is already defined in ${other}.`);
      seen.set(rule.id, shown);
      rules.push(rule);
    }
  }
  if (problems.length) {
    throw new PackError(
      'ERR_RULE_INVALID',
      problems.length === 1 ? `Invalid rule file: ${problems[0]}` : `Invalid rule files (${problems.length} problems):\n  ${problems.join('\n  ')}`,
      'Fix the rule file; the format is in the README, section "Rules".',
      { details: problems },
    );
  }
  return rules;
}

function validateRuleFile(data: unknown, file: string, problems: string[], defaultProfiles: PackProfile[]): Rule[] {
  if (!isObject(data)) {
    problems.push(`${file}: the top level must be an object with a "rules" array, got ${typeName(data)}.`);
    return [];
  }
  for (const key of Object.keys(data)) if (!FILE_KEYS.has(key)) problems.push(`${file}: unknown top-level key ${show(key)}.`);
  if (!Array.isArray(data.rules)) {
    problems.push(`${file}: "rules" must be an array, got ${typeName(data.rules)}.`);
    return [];
  }
  const rules: Rule[] = [];
  data.rules.forEach((raw: unknown, i: number) => {
    const at = `${file}: "rules[${i}]`;
    if (!isObject(raw)) {
      problems.push(`${at}" must be an object, got ${typeName(raw)}.`);
      return;
    }
    for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) problems.push(`${at}.${clip(key)}" is not a rule field (allowed: id, reason, profiles, when, python, omit, keep, optional, prune).`);
    if (typeof raw.id !== 'string' || !ID_RE.test(raw.id)) problems.push(`${at}.id" must be a lower-case id like "tests" or "ext-ssl", got ${show(raw.id)}.`);
    else if (raw.id.length > MAX_ID_LENGTH) problems.push(`${at}.id" is ${raw.id.length} characters long; an id may have at most ${MAX_ID_LENGTH}.`);
    if (typeof raw.reason !== 'string' || !raw.reason.trim()) problems.push(`${at}.reason" must be a non-empty string, got ${typeName(raw.reason)}.`);
    else if (raw.reason.length > MAX_REASON_LENGTH) problems.push(`${at}.reason" is ${raw.reason.length} characters long; a reason (shown by --explain) may have at most ${MAX_REASON_LENGTH}.`);
    if (raw.python !== undefined) checkRange(raw.python, `${at}.python`, problems);
    const globPython: Record<string, string> = {};
    const omit = globList(raw.omit, `${at}.omit`, problems, globPython);
    const keep = globList(raw.keep, `${at}.keep`, problems, globPython);
    if (!omit.length && !keep.length) problems.push(`${at}" needs at least one glob in "omit" or "keep".`);
    for (const flag of ['optional', 'prune']) {
      if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean') problems.push(`${at}.${flag}" must be true or false, got ${show(raw[flag])}.`);
    }
    const profiles = enumList(raw.profiles, PROFILES, `${at}.profiles`, problems) as PackProfile[] | undefined;
    let when: RuleCondition | undefined;
    if (raw.when !== undefined) {
      if (!isObject(raw.when)) problems.push(`${at}.when" must be an object, got ${typeName(raw.when)}.`);
      else {
        for (const key of Object.keys(raw.when)) if (!WHEN_KEYS.has(key)) problems.push(`${at}.when.${clip(key)}" is not a condition (allowed: platform, target, unavailable).`);
        when = {
          platform: enumList(raw.when.platform, PLATFORMS, `${at}.when.platform`, problems) as RuleCondition['platform'],
          target: enumList(raw.when.target, TARGETS, `${at}.when.target`, problems) as RuleCondition['target'],
          unavailable: stringList(raw.when.unavailable, `${at}.when.unavailable`, problems),
        };
      }
    }
    rules.push({
      id: String(raw.id),
      reason: String(raw.reason ?? ''),
      file,
      profiles: profiles ?? defaultProfiles,
      when,
      ...(typeof raw.python === 'string' ? { python: raw.python } : {}),
      omit,
      keep,
      ...(Object.keys(globPython).length ? { globPython } : {}),
      ...(raw.optional ? { optional: true } : {}),
      ...(raw.prune ? { prune: true } : {}),
    });
  });
  return rules;
}

/**
 * A glob list: each entry a glob string, or `{ "glob": "...", "python": "<3.13" }`
 * for a module that only some versions have (the range goes into `globPython`).
 */
function globList(value: unknown, at: string, problems: string[], globPython: Record<string, string>): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${at}" must be an array of glob strings, got ${typeName(value)}.`);
    return [];
  }
  const out: string[] = [];
  value.forEach((entry, i) => {
    let g: unknown = entry;
    if (isObject(entry)) {
      for (const key of Object.keys(entry)) if (key !== 'glob' && key !== 'python') problems.push(`${at}[${i}].${clip(key)}" is not a glob field (allowed: glob, python).`);
      g = entry.glob;
      if (checkRange(entry.python, `${at}[${i}].python`, problems) && typeof g === 'string') globPython[g] = entry.python as string;
    }
    if (typeof g !== 'string' || !g) problems.push(`${at}[${i}]" must be a glob string, got ${show(entry)}.`);
    else if (g.startsWith('/') || g.includes('\\') || g.split('/').includes('..')) problems.push(`${at}[${i}]" must be a POSIX glob relative to the stdlib, got ${show(g)}.`);
    else if (g.length > MAX_GLOB_LENGTH) problems.push(`${at}[${i}]" is ${g.length} characters long; a glob may have at most ${MAX_GLOB_LENGTH}: ${show(g)}.`);
    if (typeof g === 'string') out.push(g);
  });
  return out;
}

const RANGE_PART = /^(>=|<=|>|<|==)?(\d+)\.(\d+)(?:\.(\d+))?$/;

/** Checks a version range (`>=3.12`, `<3.13`, `3.11`, `>=3.11 <3.13`); records the problem. */
function checkRange(value: unknown, at: string, problems: string[]): boolean {
  if (typeof value === 'string' && value.trim() && value.trim().split(/\s+/).every((part) => RANGE_PART.test(part))) return true;
  problems.push(`${at}" must be a Python version range like ">=3.12", "<3.13.8", "3.11" or ">=3.11 <3.13", got ${show(value)}.`);
  return false;
}

/**
 * Does `version` (`3.13` or `3.13.15`) fall in `range`? Parts are space-separated
 * comparisons that must all hold; a bare version means ==. A part with a patch
 * level (`<3.13.8`) compares the patch too (a version without one counts as .0);
 * a part without one compares major.minor only.
 */
export function inPythonRange(version: string, range: string): boolean {
  const [major, minor, patch = 0] = version.split('.').map(Number);
  return range.trim().split(/\s+/).every((part) => {
    const m = RANGE_PART.exec(part);
    if (!m) return false;
    const cmp = major - Number(m[2]) || minor - Number(m[3]) || (m[4] === undefined ? 0 : patch - Number(m[4]));
    switch (m[1]) {
      case '>=': return cmp >= 0;
      case '<=': return cmp <= 0;
      case '>': return cmp > 0;
      case '<': return cmp < 0;
      default: return cmp === 0;
    }
  });
}

/** The rule's globs of one kind that concern `version` (all of them when it is unknown). */
export function globsFor(rule: Rule, kind: 'omit' | 'keep', version: string | undefined): string[] {
  const list = rule[kind];
  const ranges = rule.globPython;
  if (!ranges || version === undefined) return list;
  return list.filter((g) => ranges[g] === undefined || inPythonRange(version, ranges[g]));
}

function stringList(value: unknown, at: string, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || !v)) {
    problems.push(`${at}" must be a string or an array of strings, got ${show(value)}.`);
    return undefined;
  }
  return list as string[];
}

function enumList(value: unknown, allowed: string[], at: string, problems: string[]): string[] | undefined {
  const list = stringList(value, at, problems);
  for (const v of list ?? []) if (!allowed.includes(v)) problems.push(`${at}" has ${show(v)}; allowed: ${allowed.join(', ')}.`);
  return list;
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${show(value)}`;
}

/** `dir/` means the directory and everything below it. */
export function normalizeGlob(glob: string): string {
  return glob.endsWith('/') ? `${glob}**` : glob;
}

export interface RuleContext {
  profile: PackProfile;
  /** The Python version packed for (`3.13.15`, or `3.13`): rules and globs for other versions do not apply. All apply when absent. */
  version?: string;
  /**
   * Top-level module names of this version's full stdlib (CPython's Lib/). A rule pattern
   * that names one of them and matches nothing is a distribution's layout (Debian splits
   * tkinter and the tests into other packages, Pyodide drops them), not a typo: no
   * RULE_UNMATCHED for it.
   */
  stdlibModules?: ReadonlySet<string>;
  target: PackTarget;
  platform: 'emscripten' | 'wasi';
  /** Extension-module facts by import name; a module absent here is unavailable. */
  modules: Map<string, ModuleFact>;
  /** Where the module facts came from (for evidence of absent modules). */
  factsSource: string;
  /** Evidence for the target platform. */
  platformEvidence: string;
  /** `--keep` / `--omit` globs. */
  keep?: string[];
  omit?: string[];
  /** Package directories (from discover). */
  packages: Set<string>;
}

export interface ApplyResult {
  decisions: Decision[];
  warnings: PackWarning[];
}

/** A compiled glob: what a decision cites, and whether any path matched it. */
interface Glob {
  glob: string;
  re: RegExp;
  ref: RuleRef;
  used: boolean;
}

interface ActiveRule {
  rule: Rule;
  evidence: string[];
  omit: Glob[];
  keep: Glob[];
  /** One regex for all its globs: most files match no rule, and this rejects them in one test. */
  any: RegExp;
  /**
   * A text every path one of its globs matches contains (one per glob), so the regex runs only
   * on paths that hold one: `**\/tests/` compiles to a slow regex, and most paths have no
   * "tests" in them. Undefined when some glob has no literal part.
   */
  literals?: string[];
}

/** The longest literal part of a glob (between glob characters and slashes), if any. */
function literalOf(glob: string): string | undefined {
  const parts = glob.split(/[*?[\]{}()!+@/]/).filter(Boolean);
  return parts.length ? parts.reduce((a, b) => (b.length > a.length ? b : a)) : undefined;
}

function literalsOf(globs: string[]): string[] | undefined {
  const out: string[] = [];
  for (const g of globs) {
    const literal = literalOf(g);
    if (literal === undefined) return undefined;
    out.push(literal);
  }
  return out;
}

function anyOf(globs: string[]): RegExp {
  if (!globs.length) return /(?!)/;
  return new RegExp(globs.map((g) => `(?:${picomatch.makeRe(normalizeGlob(g), { dot: true }).source})`).join('|'));
}

const STRUCTURE_FILE = '<structure>';
export const STRUCTURE_RULES = {
  dataFile: {
    id: 'structure/data-file',
    file: STRUCTURE_FILE,
    pattern: '**/*.!(py)',
    reason: 'Not Python source: the zip holds importable modules only (zipimport loads .py/.pyc).',
  },
  notAPackage: {
    id: 'structure/not-a-package',
    file: STRUCTURE_FILE,
    pattern: '<dir without __init__.py>/**',
    reason: 'Inside a directory that is not a package (no __init__.py), so no import can reach it.',
  },
} satisfies Record<string, RuleRef>;

/** Is `file` (relative POSIX path) a module an import can reach? */
export function isModuleCandidate(file: string, packages: Set<string>): 'module' | 'data-file' | 'not-a-package' {
  if (!file.endsWith('.py')) return 'data-file';
  for (let slash = file.indexOf('/'); slash >= 0; slash = file.indexOf('/', slash + 1)) {
    if (!packages.has(file.slice(0, slash))) return 'not-a-package';
  }
  return 'module';
}

/** Does the rule apply to this profile and build? Returns its evidence, or undefined. */
export function ruleApplies(rule: Rule, ctx: RuleContext): string[] | undefined {
  if (!rule.profiles.includes(ctx.profile)) return undefined;
  if (rule.python && ctx.version !== undefined && !inPythonRange(ctx.version, rule.python)) return undefined;
  const evidence: string[] = [];
  const when = rule.when;
  if (when?.platform) {
    if (!when.platform.includes(ctx.platform)) return undefined;
    evidence.push(ctx.platformEvidence);
  }
  if (when?.target) {
    if (!when.target.includes(ctx.target)) return undefined;
    evidence.push(`target ${ctx.target}`);
  }
  if (when?.unavailable) {
    const missing = when.unavailable.filter((name) => !ctx.modules.get(name)?.available);
    if (!missing.length) return undefined;
    for (const name of missing) {
      evidence.push(ctx.modules.get(name)?.evidence ?? `${name}: named by no build fact in ${ctx.factsSource}, so unavailable`);
    }
  }
  return evidence;
}

/**
 * Directory globs (`dir/`) of applicable `prune` rules: discovery does not walk
 * them. A directory a `--keep` glob names (`site-packages/**`) is walked anyway.
 */
export interface PrunedDirectory {
  /** The rule's `dir/` glob. */
  glob: string;
  ref: RuleRef;
}

export function prunedDirectories(rules: Rule[], ctx: RuleContext): PrunedDirectory[] {
  const out: PrunedDirectory[] = [];
  for (const rule of rules) {
    if (!rule.prune) continue;
    const evidence = ruleApplies(rule, ctx);
    if (!evidence) continue;
    for (const glob of globsFor(rule, 'omit', ctx.version)) {
      if (!glob.endsWith('/')) continue;
      const dir = picomatch(glob.slice(0, -1), { dot: true });
      // Only a --keep glob that names the directory (its literal prefix, e.g. `site-packages/**`)
      // reaches into it; `**` means "every stdlib file", and these directories are not the stdlib.
      const reachable = (ctx.keep ?? []).some((k) => {
        const base = picomatch.scan(k).base;
        return base !== '' && dir(base.split('/')[0]);
      });
      if (reachable) continue;
      out.push({ glob, ref: { id: rule.id, file: rule.file, pattern: glob, reason: rule.reason, evidence: evidence.length ? evidence : undefined } });
    }
  }
  return out;
}

// The regular expression itself: picomatch's matcher function wraps the same test in
// per-call normalizing that costs more than the match for stdlib paths (already POSIX).
const compile = (glob: string, ref: RuleRef): Glob => ({ glob, re: picomatch.makeRe(normalizeGlob(glob), { dot: true }), ref, used: false });

const cliRef = (id: 'cli-keep' | 'cli-omit', glob: string): RuleRef => ({
  id,
  file: '<command line>',
  pattern: glob,
  reason: id === 'cli-keep' ? `kept by --keep ${show(glob)}` : `omitted by --omit ${show(glob)}`,
});

/** Decides every path. Pure. */
export function applyRules(paths: string[], rules: Rule[], ctx: RuleContext): ApplyResult {
  const active: ActiveRule[] = [];
  for (const rule of rules) {
    const evidence = ruleApplies(rule, ctx);
    if (!evidence) continue;
    const omit = globsFor(rule, 'omit', ctx.version);
    const keep = globsFor(rule, 'keep', ctx.version);
    if (!omit.length && !keep.length) continue;
    const ref = (glob: string): RuleRef => ({ id: rule.id, file: rule.file, pattern: glob, reason: rule.reason, evidence: evidence.length ? evidence : undefined });
    active.push({ rule, evidence, omit: omit.map((g) => compile(g, ref(g))), keep: keep.map((g) => compile(g, ref(g))), any: anyOf([...omit, ...keep]), literals: literalsOf([...omit, ...keep]) });
  }
  const cliKeep = (ctx.keep ?? []).map((g) => compile(g, cliRef('cli-keep', g)));
  const cliOmit = (ctx.omit ?? []).map((g) => compile(g, cliRef('cli-omit', g)));
  const decisions: Decision[] = [];
  // Most paths match no glob at all: one regex of every glob rejects them in one native test.
  const anyGlob = cliKeep.length || cliOmit.length ? undefined : new RegExp(active.map((a) => `(?:${a.any.source})`).join('|') || '(?!)');
  const untouched = (file: string): Decision => ({ path: file, action: 'keep' });
  for (const file of paths) {
    const kind = isModuleCandidate(file, ctx.packages);
    // Record pattern use even for non-candidates, so a glob naming a data file is not "unmatched".
    const decision = anyGlob && !anyGlob.test(file) ? untouched(file) : decide(file, active, cliKeep, cliOmit);
    // A rule that omits a non-module says more than the structural reason.
    if (kind === 'module' || decision.action === 'omit') decisions.push(decision);
    else if (kind === 'data-file') decisions.push({ path: file, action: 'omit', rule: STRUCTURE_RULES.dataFile });
    else decisions.push({ path: file, action: 'omit', rule: STRUCTURE_RULES.notAPackage });
  }
  const warnings: PackWarning[] = [];
  const absent = absentStdlibModules(paths, ctx.stdlibModules);
  for (const a of active) {
    if (a.rule.optional) continue;
    for (const { glob, used } of [...a.omit, ...a.keep]) {
      if (!used && !absent.has(topLevelOf(glob) ?? '')) {
        warnings.push({ code: 'RULE_UNMATCHED', path: a.rule.file, message: `rule "${a.rule.id}" (${a.rule.file}): pattern ${show(glob)} matches nothing in this stdlib` });
      }
    }
  }
  for (const [source, list] of [['--keep', cliKeep], ['--omit', cliOmit]] as const) {
    for (const { glob, used } of list) {
      if (!used) warnings.push({ code: 'RULE_UNMATCHED', message: `${source} ${show(glob)} matches nothing in this stdlib` });
    }
  }
  return { decisions, warnings };
}

/** The module a glob names at the top of the stdlib (`tkinter` for `tkinter/`, `uu` for `uu.py`), when literal. */
function topLevelOf(glob: string): string | undefined {
  const first = glob.split('/')[0];
  if (!first || /[*?[\]{}()!+@]/.test(first)) return undefined;
  return first.replace(/\.py$/, '');
}

/** Stdlib modules of this version that this tree does not have at all (split off or dropped by its distribution). */
function absentStdlibModules(paths: string[], stdlibModules: ReadonlySet<string> | undefined): Set<string> {
  if (!stdlibModules) return new Set();
  const present = new Set(paths.map((p) => p.split('/')[0].replace(/\.py$/, '')));
  return new Set([...stdlibModules].filter((m) => !present.has(m)));
}

/** Decides one path. Matching globs are marked used (for RULE_UNMATCHED); their RuleRef is shared. */
function decide(file: string, active: ActiveRule[], cliKeep: Glob[], cliOmit: Glob[]): Decision {
  const keepCli = firstMatch(cliKeep, file);
  const omitCli = firstMatch(cliOmit, file);
  let keepRule: Glob | undefined;
  let omitRule: Glob | undefined;
  for (const a of active) {
    if (a.literals && !a.literals.some((l) => file.includes(l))) continue;
    if (!a.any.test(file)) continue;
    const k = firstMatch(a.keep, file);
    const o = firstMatch(a.omit, file);
    keepRule ??= k;
    omitRule ??= o;
  }
  if (keepCli) return { path: file, action: 'keep', rule: keepCli.ref };
  if (omitCli) return { path: file, action: 'omit', rule: omitCli.ref };
  if (keepRule) return { path: file, action: 'keep', rule: keepRule.ref };
  if (omitRule) return { path: file, action: 'omit', rule: omitRule.ref };
  return { path: file, action: 'keep' };
}

/** The first glob of `list` that matches `file`; every match is marked used. */
function firstMatch(list: Glob[], file: string): Glob | undefined {
  let found: Glob | undefined;
  for (const g of list) {
    if (g.re.test(file)) {
      g.used = true;
      found ??= g;
    }
  }
  return found;
}

// --- the stage -----------------------------------------------------------------------

/** The rules' view of a run: its profile, Python version, target and build facts. */
export function ruleContextOf(options: ResolvedOptions): RuleContext {
  return {
    profile: options.profile,
    version: options.python.version,
    stdlibModules: new Set(options.builtins.stdlibModules),
    target: options.target,
    platform: options.facts.platform,
    modules: options.facts.modules,
    factsSource: options.facts.source,
    platformEvidence: `target platform ${options.facts.platform}${options.facts.sysconfigdataPath ? ` (${options.facts.sysconfigdataName})` : ''}`,
    keep: options.keep,
    omit: options.omit,
    packages: new Set(),
  };
}

/**
 * Stage: rules. One decision per discovered path (and one per directory the walk
 * pruned, cited by its rule), sorted by path; RULE_UNMATCHED warnings into `ctx`.
 */
export function decideFiles(ctx: Context, rules: Rule[], tree: DiscoverResult, pruned: PrunedDirectory[]): Decision[] {
  const applied = applyRules(tree.files, rules, { ...ruleContextOf(ctx.options), packages: tree.packages });
  for (const dir of tree.pruned) {
    const ref = pruned.find((p) => picomatch(p.glob.slice(0, -1), { dot: true })(dir.slice(0, -1)))!.ref;
    applied.decisions.push({ path: dir, action: 'omit', rule: ref });
  }
  applied.decisions.sort((a, b) => compareCodePoints(a.path, b.path));
  ctx.warnings.push(...applied.warnings);
  return applied.decisions;
}
