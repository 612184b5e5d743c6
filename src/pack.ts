/**
 * pack(): runs the stages in order and owns the run's context.
 *   options → interpreter + magic check → discover → rules → read sources →
 *   compile (+ imports) → import closure → zip → outputs (atomic) → result
 * explain(): the same up to the decisions; writes no outputs.
 */
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildZip, compressEntry, loadZipWriter, type ArchiveEntry, type CompressedEntry } from './output/zip.js';
import { compareCodePoints, compareTreeOrder, discover, moduleName, type DiscoverResult } from './pipeline/discover.js';
import { PackError } from './errors.js';
import { writeFilesAtomic, type OutputFile } from './output/write.js';
import { checkMagic, CompilerPool, pythonVersionForMagic, readMagicFromLib, type CompileItem, type InterpreterInfo } from './interpreter/index.js';
import { readMagicFromHeader } from './versions.js';
import { compileModules, NotCached, type CompileModulesStats } from './pipeline/compile.js';
import { loadInterpreterHint, saveInterpreterHint, sameInterpreter } from './cache/interpreter-answers.js';
import { openCache, type PackCache } from './cache/compile-cache.js';
import picomatch from 'picomatch';
import { applyRules, builtinRuleFiles, loadRules, prunedDirectories, type Rule, type RuleContext } from './pipeline/rules.js';
import { defaultCacheDir, resolveOptions, type ResolvedOptions } from './pipeline/options/index.js';
import { discoverCached, listedRoot } from './cache/listing.js';
import type { Decision, KeptModule, OmittedFile, PackOptions, PackOutput, PackResult, PackWarning } from './types.js';
import { createPackage } from './output/packager/index.js';
import { renderOmittedHints } from './pipeline/omitted-hints/index.js';
import { analyzeImports, type ImportGraphReport } from './pipeline/check-imports.js';

export { moduleName };

const EMPTY = new Uint8Array(0);

interface Unit {
  /** Source path for messages: stdlib-relative, or absolute for --add and sysconfigdata. */
  path: string;
  /** Name in the zip without extension: `json/decoder`, `json/__init__`. */
  stem: string;
  module: string;
  source: Uint8Array;
  /** sha256 (hex) of `source`, when computed ahead (see `speculate`). */
  sourceHash?: string;
  origin: 'stdlib' | 'add' | 'sysconfigdata' | 'generated';
  pyc?: CompressedEntry;
  py?: CompressedEntry;
  imports?: unknown[];
  failed?: string;
}

interface Context {
  options: ResolvedOptions;
  warnings: PackWarning[];
  timings: Record<string, number>;
  cacheHits: number;
  cacheMisses: number;
  /** Opened at the first compile, shared by the later ones (one read, one write of the cache file per pack). */
  cache?: PackCache;
}

async function timed<T>(ctx: Context, phase: string, fn: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    ctx.timings[phase] = (ctx.timings[phase] ?? 0) + Math.round((performance.now() - start) * 10) / 10;
  }
}

type Early = { lib: string; prune: string[]; tree: Promise<DiscoverResult> };

interface Decided {
  ctx: Context;
  tree: DiscoverResult;
  decisions: Decision[];
  /** The units to compile, when read ahead by `speculate` (else collectUnits reads them). */
  units?: Unit[];
  /** Set when `speculate` also compiled the units (all from the cache) and checked their imports. */
  graph?: ImportGraphReport;
}

/** What `speculate` did ahead; `python`: the interpreter answer its compiling assumed. */
interface Ahead extends Decided {
  python?: InterpreterInfo;
}

/** Resolve, check the interpreter against the stdlib, discover, apply rules. */
async function decide(input: PackOptions): Promise<Decided> {
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  // The rule files are all checked before any work starts (the user's are read with the `fs` option).
  const cwd = input.cwd ?? process.cwd();
  const rules = loadRules([...builtinRuleFiles(nodeFs), ...(input.rules ?? []).map((r) => path.resolve(cwd, r))], input.fs ?? nodeFs);
  // While the build interpreter starts, the stdlib is walked already when its place is known.
  let early: Early | undefined;
  const fs = input.fs ?? nodeFs;
  const cacheDir = input.cache === false ? undefined : input.cacheDir ? path.resolve(cwd, input.cacheDir) : defaultCacheDir(cwd);
  const walkEarly = (lib: string) => {
    const prune = speculativePrune(rules, input);
    early = { lib, prune, tree: discoverCached(fs, cacheDir, lib, prune, () => discover(lib, fs, { prune })) };
    early.tree.catch(() => {}); // awaited (or redone) below
  };
  const resolving = resolveOptions(input, { onLib: walkEarly });
  // No stdlib given (the interpreter's own is packed): the last run's is the likely one.
  if (!early && cacheDir && !input.lib && !input.srcdir && !input.builddir) {
    const last = listedRoot(fs, cacheDir);
    if (last) walkEarly(last);
  }
  // The interpreter is starting now: load what the later stages need meanwhile,
  // and decide and read ahead for the version the stdlib itself names.
  loadZipWriter().catch(() => {});
  const ahead = early ? speculate(input, rules, early, cacheDir) : undefined;
  const { options, warnings } = await resolving;
  timings.resolve = Math.round(performance.now() - t0);
  const ctx: Context = { options, warnings: [...warnings], timings, cacheHits: 0, cacheMisses: 0 };
  if (cacheDir) saveInterpreterHint(fs, cacheDir, options.python, cwd);
  const spec = await ahead;
  const compiledAlike = !spec?.python || sameInterpreter(spec.python, options.python);
  if (spec && compiledAlike && spec.ctx.options.python.version === options.python.version && spec.ctx.options.lib === options.lib && spec.ctx.options.prefix === options.prefix) {
    // Same stdlib, same target version, same input (and, if compiled, the same interpreter answer): the same work.
    checkLibMagic(options, spec.tree);
    ctx.warnings.push(...spec.ctx.warnings.filter((w) => !warnings.some((x) => x.code === w.code && x.message === w.message)));
    for (const phase of ['discover', 'rules', 'read'] as const) timings[phase] = 0;
    if (spec.graph) {
      for (const phase of ['compile', 'imports'] as const) timings[phase] = 0;
      Object.assign(ctx, { cache: spec.ctx.cache, cacheHits: spec.ctx.cacheHits, cacheMisses: spec.ctx.cacheMisses });
    }
    return { ctx, tree: spec.tree, decisions: spec.decisions, units: spec.units, graph: spec.graph };
  }
  const { tree, decisions } = await decidePaths(ctx, rules, early, true);
  return { ctx, tree, decisions };
}

/**
 * The work of a warm run that does not need the build interpreter's answer:
 * discovery, rules, reading and hashing the kept sources. Done for the Python
 * version the stdlib's own bytecode magic number names (importlib/_bootstrap_external.py),
 * while the interpreter starts; decide() keeps it only when the interpreter
 * then reports that version. Any problem here just means no head start: the
 * real path redoes the work and reports it.
 */
async function speculate(input: PackOptions, rules: Rule[], early: Early, cacheDir: string | undefined): Promise<Ahead | undefined> {
  try {
    const fs = input.fs ?? nodeFs;
    const magic = readMagicFromLib(String(fs.readFileSync(path.join(early.lib, 'importlib/_bootstrap_external.py'), 'utf8')));
    const version = magic === undefined ? undefined : pythonVersionForMagic(magic);
    if (!version) return undefined;
    const [major, minor] = version.split('.').map(Number);
    // Rules may name patch releases: take this interpreter's last answer for the full version.
    const last = cacheDir && input.cache !== false ? loadInterpreterHint(fs, cacheDir, input.buildPython ?? 'python3', input.cwd ?? process.cwd()) : undefined;
    const patch = last && last.versionInfo[0] === major && last.versionInfo[1] === minor ? last.versionInfo[2] : 0;
    const guess: InterpreterInfo = {
      executable: input.buildPython ?? 'python3',
      resolved: '',
      version: `${version}.${patch}`,
      versionInfo: [major, minor, patch],
      magic: magic!,
      magicHex: '',
      implementation: 'cpython',
      cacheTag: '',
      workerDigest: '',
      stdlib: early.lib, // taken as the stdlib when no --lib/--srcdir/--builddir says another
      cwd: input.cwd,
    };
    const { options, warnings } = await resolveOptions(input, { python: guess });
    if (options.lib !== early.lib) return undefined;
    const ctx: Context = { options, warnings: [...warnings], timings: {}, cacheHits: 0, cacheMisses: 0 };
    const { tree, decisions } = await decidePaths(ctx, rules, early, false);
    const units = collectUnits(ctx, tree, decisions);
    for (const u of units) u.sourceHash = createHash('sha256').update(u.source).digest('hex');
    // With last run's answer of this interpreter: the cache lookups and the import
    // check too, when every module is in the cache (a warm run).
    // The same answer the guess above was made with (read before anything else ran), or none.
    const hint = options.cache ? last : undefined;
    let graph: ImportGraphReport | undefined;
    if (hint) {
      ctx.options = { ...options, python: hint };
      try {
        await compileUnits(ctx, units, { cacheOnly: true });
        checkCompileFailures(ctx, units);
        graph = await analyzeImports(ctx.options, units, decisions, ctx.warnings);
      } catch (error) {
        if (!(error instanceof NotCached)) throw error;
      }
    }
    ctx.warnings = ctx.warnings.filter((w) => !warnings.includes(w));
    return { ctx, tree, decisions, units, graph, python: graph ? hint : undefined };
  } catch {
    return undefined;
  }
}

/**
 * The stdlib's bytecode magic, to check the interpreter against: stated in its
 * importlib/_bootstrap_external.py up to 3.13; since 3.14 only in the source
 * tree's Include/internal/pycore_magic_number.h. An installed stdlib of 3.14
 * says its version by its directory name (lib/python3.14) instead.
 */
function checkLibMagic(options: ResolvedOptions, tree: DiscoverResult): void {
  const { fs, lib, python } = options;
  if (tree.files.includes('importlib/_bootstrap_external.py')) {
    const magic = readMagicFromLib(String(fs.readFileSync(path.join(lib, 'importlib/_bootstrap_external.py'), 'utf8')));
    if (magic !== undefined) return checkMagic(python, magic, lib);
  }
  const header = path.join(path.dirname(lib), 'Include/internal/pycore_magic_number.h');
  const stated = fs.existsSync(header) ? readMagicFromHeader(String(fs.readFileSync(header, 'utf8'))) : undefined;
  if (stated !== undefined) return checkMagic(python, stated, lib);
  const named = /^python(\d+\.\d+)$/.exec(path.basename(lib))?.[1];
  if (named && named !== options.version) {
    throw new PackError('ERR_PYTHON_VERSION', `${python.executable} is Python ${python.version}, but the stdlib ${lib} is Python ${named} (its directory name); its .pyc files would not load.`, `Pass --build-python <path to python${named}>.`);
  }
}

/** Discovery and rules, once the options are known. `checkInterpreter`: compare the interpreter's magic with the stdlib's. */
async function decidePaths(ctx: Context, rules: Rule[], early: Early | undefined, checkInterpreter: boolean): Promise<{ tree: DiscoverResult; decisions: Decision[] }> {
  const { options } = ctx;
  const { fs, lib } = options;

  const ruleContext: RuleContext = {
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
  const pruned = prunedDirectories(rules, ruleContext);
  const globs = pruned.map((p) => p.glob);
  const reuse = early && early.lib === lib && early.prune.join('\0') === globs.join('\0');
  const walk = () => discover(lib, fs, { prune: globs });
  const tree = await timed(ctx, 'discover', () => (reuse ? early!.tree : discoverCached(fs, options.cache ? options.cacheDir : undefined, lib, globs, walk)));
  if (!tree.files.includes('os.py')) {
    throw new PackError('ERR_NO_OS_PY', `${lib} has no os.py, so it is not a Python stdlib (CPython finds its stdlib by os.py).`, 'Point --lib at a CPython Lib/ or lib/python3.X directory.');
  }
  if (checkInterpreter) checkLibMagic(options, tree);
  const applied = await timed(ctx, 'rules', () => applyRules(tree.files, rules, { ...ruleContext, packages: tree.packages }));
  // Pruned directories: one decision each, cited by their rule.
  for (const dir of tree.pruned) {
    const ref = pruned.find((p) => picomatch(p.glob.slice(0, -1), { dot: true })(dir.slice(0, -1)))!.ref;
    applied.decisions.push({ path: dir, action: 'omit', rule: ref });
  }
  applied.decisions.sort((a, b) => compareCodePoints(a.path, b.path));
  ctx.warnings.push(...applied.warnings);
  return { tree, decisions: applied.decisions };
}

interface ReadProblem {
  line: string;
  error: unknown;
}

/**
 * The prune globs decide() will most likely use, from what is known before the
 * interpreter answers: the unconditional `prune` rules of the profile.
 */
function speculativePrune(rules: Rule[], input: PackOptions): string[] {
  const context: RuleContext = { profile: input.profile ?? 'wasm', target: 'emscripten-browser', platform: 'emscripten', modules: new Map(), factsSource: '', platformEvidence: '', keep: input.keep, packages: new Set() };
  return prunedDirectories(rules.filter((r) => !r.when), context).map((p) => p.glob);
}

function readSource(ctx: Context, file: string, shown: string, problems: ReadProblem[]): Uint8Array {
  try {
    return ctx.options.fs.readFileSync(file);
  } catch (error) {
    problems.push({ line: `${shown} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error });
    return new Uint8Array();
  }
}

/** Units to compile: the sysconfigdata, kept stdlib modules (tree order), --add modules. */
function collectUnits(ctx: Context, tree: DiscoverResult, decisions: Decision[]): Unit[] {
  const { options } = ctx;
  const problems: ReadProblem[] = [];
  const units: Unit[] = [];
  const facts = options.facts;
  if (facts.sysconfigdataName && facts.sysconfigdataSource) {
    units.push({ path: facts.sysconfigdataPath!, stem: facts.sysconfigdataName, module: facts.sysconfigdataName, source: facts.sysconfigdataSource, origin: 'sysconfigdata' });
  } else {
    ctx.warnings.push({ code: 'NO_SYSCONFIGDATA', message: 'No target sysconfigdata (no --builddir or --sysconfigdata), so the zip has none; sysconfig.get_config_vars() will be nearly empty in the runtime.' });
  }
  const kept = decisions.filter((d) => d.action === 'keep').map((d) => d.path).sort(compareTreeOrder);
  for (const file of kept) {
    units.push({ path: file, stem: file.replace(/\.py$/, ''), module: moduleName(file), source: readSource(ctx, path.join(tree.root, file), path.join(tree.root, file), problems), origin: 'stdlib' });
  }
  for (const added of options.add) {
    const fs = options.fs;
    if (added.endsWith('.py') && fs.statSync(added).isFile()) {
      const name = path.basename(added);
      units.push({ path: added, stem: name.replace(/\.py$/, ''), module: name.replace(/\.py$/, ''), source: readSource(ctx, added, added, problems), origin: 'add' });
      continue;
    }
    // A package directory: every .py inside it and its sub-packages, like the stdlib's.
    const base = path.basename(added);
    const walk = (dir: string, rel: string) => {
      const entries = fs.readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: String(e.name), dir: e.isDirectory() }));
      entries.sort((a, b) => compareTreeOrder(a.name, b.name));
      for (const e of entries) {
        if (e.name === '__pycache__') continue;
        const full = path.join(dir, e.name);
        const r = `${rel}/${e.name}`;
        if (e.dir) {
          if (fs.existsSync(path.join(full, '__init__.py'))) walk(full, r);
        } else if (e.name.endsWith('.py')) {
          units.push({ path: full, stem: r.replace(/\.py$/, ''), module: moduleName(r), source: readSource(ctx, full, full, problems), origin: 'add' });
        }
      }
    };
    walk(added, base);
  }
  if (problems.length) {
    const lines = problems.map((p) => p.line);
    throw new PackError('ERR_FILE_UNREADABLE', `Cannot read ${lines.length === 1 ? lines[0] : `${lines.length} source files:\n  ${lines.join('\n  ')}`}.`, 'Fix the file permissions, or omit the files with --omit.', {
      details: lines,
      cause: problems.length === 1 ? problems[0].error : new AggregateError(problems.map((p) => p.error)),
    });
  }
  const addedStems = new Map<string, string>();
  for (const u of units) {
    if (u.origin !== 'add') continue;
    const clash = units.find((o) => o !== u && o.stem === u.stem);
    if (clash || addedStems.has(u.stem)) {
      throw new PackError('ERR_ADD', `--add ${u.path} would be ${u.stem}.py in the zip, which ${clash ? `is also ${clash.path}` : `is also ${addedStems.get(u.stem)}`}.`, 'Rename the module, or omit the stdlib one with --omit.');
    }
    addedStems.set(u.stem, u.path);
  }
  return units;
}

/** Is there a file at `file` whose contents are not `data`? */
function differs(fs: ResolvedOptions['fs'], file: string, data: string | Uint8Array): boolean {
  let old: Uint8Array;
  try {
    if (!fs.statSync(file).isFile()) return true;
    old = fs.readFileSync(file);
  } catch {
    return false;
  }
  return !Buffer.from(old).equals(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * Modules every CPython for WebAssembly imports from the stdlib zip while it starts,
 * before any user code: `init_fs_encoding` (Python/pylifecycle.c) looks up the UTF-8
 * codec, which imports the `encodings` package (it imports `encodings.aliases`) and
 * `encodings.utf_8`. Everything else it needs is built in or frozen (3.11-3.14;
 * measured in the WASI build with `-S` and without).
 */
const STARTUP_MODULES = ['encodings', 'encodings.aliases', 'encodings.utf_8'];

/**
 * A bundle that omits a start-up module its stdlib has cannot start at all: refuse it
 * (ERR_UNLOADABLE). (A tree without them is no CPython stdlib; tests use such trees.)
 */
function checkStartupModules(units: Unit[], decisions: Decision[]): void {
  const shipped = new Set(units.map((u) => u.module));
  const dropped = STARTUP_MODULES.map((m) => ({ m, d: decisions.find((x) => x.action === 'omit' && x.path.endsWith('.py') && moduleName(x.path) === m) }));
  const missing = dropped.filter(({ m, d }) => d && !shipped.has(m));
  if (!missing.length) return;
  const why = missing.map(({ m, d }) => `${m} (omitted by ${d!.rule?.id}: ${d!.rule?.pattern})`);
  throw new PackError(
    'ERR_UNLOADABLE',
    `The bundle would lack ${why.join(', ')}, which the interpreter imports while it starts (to decode file names): it would die at start-up.`,
    'Keep them: drop the --omit or rule that names them, or pass --keep encodings/aliases.py --keep encodings/utf_8.py --keep encodings/__init__.py.',
  );
}

function zipRoot(options: ResolvedOptions): string {
  return `${options.prefix === '/' ? '' : options.prefix}/lib/python${options.versionNodot}.zip`;
}

/** Compiles (and compresses) every unit through the cache; fills pyc/py/imports/failed. */
async function compileUnits(ctx: Context, units: Unit[], mode: { cacheOnly?: boolean } = {}): Promise<void> {
  const { options } = ctx;
  const root = zipRoot(options);
  const items: CompileItem[] = units.map((u) => ({ path: u.path, source: u.source, sourceHash: u.sourceHash, filename: `${root}/${u.stem}.py` }));
  const pool = await CompilerPool.start(options.python, { jobs: options.jobs, lazy: true });
  const cache = (ctx.cache ??= openCache({ dir: options.cacheDir, fs: options.fs, enabled: options.cache }));
  const stats: Partial<CompileModulesStats> = {};
  try {
    const compiled = await timed(ctx, 'compile', () =>
      compileModules(
        pool,
        cache,
        items,
        { optimize: options.optimize, invalidation: options.invalidation, mtime: options.sourceDateEpoch },
        { method: options.compression, level: options.level },
        {
          stats,
          keepPyc: false,
          cacheOnly: mode.cacheOnly,
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
    await timed(ctx, 'compress', () => {
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
  if (stats.corrupt) ctx.warnings.push({ code: 'CACHE_CORRUPT', message: `${stats.corrupt} damaged cache entr${stats.corrupt > 1 ? 'ies were' : 'y was'} found in ${options.cacheDir} and recompiled.` });
}

function checkCompileFailures(ctx: Context, units: Unit[]): void {
  const failed = units.filter((u) => u.failed);
  if (!failed.length) return;
  if (!ctx.options.allowSyntaxErrors) {
    const lines = failed.map((u) => u.failed!);
    throw new PackError('ERR_SYNTAX', `${failed.length} source file${failed.length > 1 ? 's' : ''} failed to compile:\n  ${lines.join('\n  ')}`, 'Fix the files, omit them with --omit, or pass --allow-syntax-errors to ship them as .py source.', { details: lines });
  }
  for (const u of failed) ctx.warnings.push({ code: 'SYNTAX_ERROR_SHIPPED_AS_SOURCE', path: u.path, message: `${u.failed} (shipped as .py source)` });
}

function zipEntries(ctx: Context, units: Unit[]): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  for (const u of units) {
    if (u.failed) {
      entries.push({ name: `${u.stem}.py`, entry: u.py! });
      continue;
    }
    if (ctx.options.sources !== 'pyc') entries.push({ name: `${u.stem}.py`, entry: u.py! });
    if (ctx.options.sources !== 'py') entries.push({ name: `${u.stem}.pyc`, entry: u.pyc! });
  }
  return entries;
}

function toOmitted(decisions: Decision[]): OmittedFile[] {
  return decisions
    .filter((d) => d.action === 'omit')
    .map((d) => ({ path: d.path, rule: d.rule?.id ?? 'unknown', reason: d.rule?.reason ?? '', evidence: d.rule?.evidence, chain: d.chain }));
}

export async function pack(input: PackOptions): Promise<PackResult> {
  const started = performance.now();
  const { ctx, tree, decisions, units: ahead, graph: checked } = await decide(input);
  const { options } = ctx;
  const fs = options.fs;

  let units = ahead ?? (await timed(ctx, 'read', () => collectUnits(ctx, tree, decisions)));
  if (!checked) {
    await compileUnits(ctx, units);
    checkCompileFailures(ctx, units);
  }

  // Import closure: which kept modules cannot import, and (wasm profile) pruning.
  const graph: ImportGraphReport = checked ?? (await timed(ctx, 'imports', () => analyzeImports(ctx.options, units, decisions, ctx.warnings)));
  if (graph.pruned.size) units = units.filter((u) => !(u.origin === 'stdlib' && graph.pruned.has(u.path)));
  checkStartupModules(units, decisions);

  if (options.omittedHints) {
    const omittedModules = decisions
      .filter((d) => d.action === 'omit' && d.path.endsWith('.py') && d.rule && !d.rule.id.startsWith('structure/'))
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
    units = [...units, ...hintUnits];
  }

  if (options.strict && ctx.warnings.length) {
    throw new PackError('ERR_STRICT', `--strict: ${ctx.warnings.length} warning${ctx.warnings.length > 1 ? 's' : ''}:\n  ${ctx.warnings.map((w) => w.message).join('\n  ')}`, 'Fix the warnings, or drop --strict.', { details: ctx.warnings.map((w) => w.message) });
  }

  const zipBytes = await timed(ctx, 'zip', async () => buildZip(zipEntries(ctx, units), options.sourceDateEpoch));
  const prefixDir = path.join(options.out, options.prefix.replace(/^\/+/, ''));
  const zipPath = path.join(prefixDir, 'lib', `python${options.versionNodot}.zip`);
  const stdlibDir = path.join(prefixDir, 'lib', `python${options.version}`);
  const osPy = fs.readFileSync(path.join(options.lib, 'os.py'));
  const files: (OutputFile & { kind: PackOutput['kind'] })[] = [
    { path: zipPath, data: zipBytes, kind: 'zip' },
    { path: path.join(stdlibDir, 'os.py'), data: osPy, kind: 'os.py' },
    { path: path.join(stdlibDir, 'lib-dynload', '.empty'), data: new Uint8Array(), kind: 'lib-dynload' },
  ];
  if (options.package !== false) {
    const vfs = (p: string) => '/' + path.relative(options.out, p).split(path.sep).join('/');
    const pkg = createPackage(files.map((f) => ({ path: vfs(f.path), data: f.data as Uint8Array })), { name: options.package, inlineMetadata: options.inlineMetadata });
    files.push({ path: path.join(options.out, pkg.dataFileName), data: pkg.data, kind: 'package-data' });
    files.push({ path: path.join(options.out, pkg.loaderFileName), data: pkg.loader, kind: 'package-loader' });
    if (pkg.metadataFileName) files.push({ path: path.join(options.out, pkg.metadataFileName), data: pkg.metadata, kind: 'package-metadata' });
  }
  // Files that were there with other contents (a rerun that writes the same bytes replaces nothing).
  const replaced = new Set(files.filter((f) => differs(fs, f.path, f.data)).map((f) => f.path));
  await timed(ctx, 'write', () => writeFilesAtomic(fs, files));

  const kept: KeptModule[] = units.map((u) => ({
    path: u.origin === 'sysconfigdata' ? `${u.stem}.py` : u.path,
    module: u.module,
    entry: u.failed || options.sources === 'py' ? `${u.stem}.py` : `${u.stem}.pyc`,
    size: (u.failed || options.sources === 'py' ? u.py!.size : u.pyc!.size) + (options.sources === 'both' && !u.failed ? u.py!.size : 0),
    ...(u.failed ? { source: true } : {}),
    origin: u.origin,
    ...(graph.verdicts.has(u.module) ? { importCheck: graph.verdicts.get(u.module) } : {}),
  }));
  const omitted = toOmitted(decisions);
  ctx.timings.total = Math.round(performance.now() - started);
  return {
    version: options.version,
    target: options.target,
    profile: options.profile,
    compression: { method: options.compression, ...(options.compressionReason ? { reason: options.compressionReason } : {}) },
    ...(options.builddir && options.out === options.builddir ? { outInBuildRoot: true as const } : {}),
    kept,
    omitted,
    decisions,
    outputs: files.map((f) => ({ path: f.path, kind: f.kind, bytes: typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.length, ...(replaced.has(f.path) ? { replaced: true as const } : {}) })),
    warnings: ctx.warnings,
    stats: {
      modules: units.length,
      omitted: omitted.length,
      zipBytes: zipBytes.length,
      cacheHits: ctx.cacheHits,
      cacheMisses: ctx.cacheMisses,
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
  const { ctx, tree, decisions, units: ahead, graph: checked } = await decide(input);
  const units = ahead ?? collectUnits(ctx, tree, decisions);
  if (!checked) {
    await compileUnits(ctx, units);
    await analyzeImports(ctx.options, units, decisions, ctx.warnings);
  }
  return { version: ctx.options.version, target: ctx.options.target, profile: ctx.options.profile, lib: ctx.options.lib, decisions, warnings: ctx.warnings };
}
