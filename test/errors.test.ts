/**
 * Bad input (issue 2, "Acceptance"): one test per error. Each asserts the
 * PackError's code and the key fragments of its message (what failed, which
 * file, what to do) and that the output directory holds nothing afterwards,
 * neither a partial output nor a temporary file. A few also go through the
 * CLI's main() for the non-zero exit.
 *
 * The trees are tiny real directories because the real python3 runs (cost:
 * ~0.1-0.3 s per pack() call, ~6 s for the whole file).
 */
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../src/cli.js';
import { PackError } from '../src/errors.js';
import { checkInsideOut } from '../src/pipeline/assemble.js';
import { pack } from '../src/index.js';
import type { PackFs, PackOptions } from '../src/types.js';
import { availableParallelism } from 'node:os';
import { REPO as REPO_ROOT } from './helpers.js';
import { misbehavingPython, pidsOf, stillRunning } from './fixtures/interpreters.js';
import { bootstrapExternal, captureIO, filesUnder, HAS_PYTHON3, makeTmp, PYTHON3, rmTmp, SMALL_LIB, writeTree } from './fixtures/errors/support.js';

const PY = PYTHON3 ?? 'python3';

if (!HAS_PYTHON3) console.log('errors.test.ts: python3 (3.8+) is not runnable here; the tests that need a build interpreter are skipped.');

/** The suite, or its skipping twin when there is no python3. */
function pySuite(name: string): Test {
  const s = suite(name);
  if (HAS_PYTHON3) return s;
  const skipping = ((title: string, fn: any) => s.skip(title, fn)) as unknown as Test;
  Object.assign(skipping, { run: () => s.run(), skip: s.skip, before: s.before, after: s.after, only: s.skip });
  return skipping;
}

/** Options for a fast run over a small tree: no package, no cache, one worker. */
function options(dir: string, extra: PackOptions = {}): PackOptions {
  return { lib: path.join(dir, 'Lib'), out: path.join(dir, 'out'), buildPython: PY, profile: 'wasm', package: false, cache: false, jobs: 1, ...extra };
}

/** CLI arguments for the same fast run; `extra` flags replace the defaults of the same name. */
function packArgv(opts: PackOptions, ...extra: string[]): string[] {
  const flags = new Map<string, string | undefined>([
    ['--lib', opts.lib],
    ['--out', opts.out],
    ['--build-python', PY],
    ['--package', 'false'],
    ['--no-cache', undefined],
    ['--jobs', '1'],
  ]);
  for (let i = 0; i < extra.length; i++) {
    const next = extra[i + 1];
    flags.set(extra[i], next !== undefined && !next.startsWith('--') ? extra[++i] : undefined);
  }
  return ['pack', ...[...flags].flatMap(([flag, value]) => (value === undefined ? [flag] : [flag, value]))];
}

/** Runs pack() and returns the PackError it must throw. */
async function packError(opts: PackOptions): Promise<PackError> {
  try {
    await pack(opts);
  } catch (error) {
    if (error instanceof PackError) return error;
    throw error;
  }
  assert.unreachable('pack() resolved; a PackError was expected');
  throw new Error('unreachable');
}

/** The output directory was never created: no partial output, no temporary file. */
function assertNoOutput(out: string): void {
  assert.equal(filesUnder(out), [], `files left in ${out}`);
  assert.not.ok(nodeFs.existsSync(out), `${out} was created`);
}

/** main() with a captured io. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO();
  const code = await main(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
function inTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = makeTmp();
    try {
      await fn(dir);
    } finally {
      rmTmp(dir);
    }
  };
}

// ---
const libNotFound = pySuite('ERR_LIB_NOT_FOUND: missing stdlib directory');

libNotFound('names the missing directory and how it was chosen, and says which flag to pass', inTmp(async (dir) => {
  const opts = options(dir);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_LIB_NOT_FOUND');
  assert.ok(err.message.includes(`No stdlib directory at ${opts.lib}`), err.message);
  assert.ok(err.message.includes('--lib'), err.message);
  assert.ok(err.hint?.includes('--lib <cpython>/Lib'), err.hint);
  assertNoOutput(opts.out!);
}));

libNotFound('with --srcdir, names <srcdir>/Lib', inTmp(async (dir) => {
  const srcdir = path.join(dir, 'cpython');
  nodeFs.mkdirSync(srcdir);
  const err = await packError(options(dir, { lib: undefined, srcdir }));
  assert.is(err.code, 'ERR_LIB_NOT_FOUND');
  assert.ok(err.message.includes(`${path.join(srcdir, 'Lib')} (from --srcdir)`), err.message);
}));

libNotFound('the CLI exits 1 and prints the code, the message and the hint', inTmp(async (dir) => {
  const opts = options(dir);
  const r = await cli(packArgv(opts));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith(`error ERR_LIB_NOT_FOUND: No stdlib directory at ${opts.lib}`), r.stderr);
  assert.ok(r.stderr.includes('  hint: Pass --lib'), r.stderr);
  assert.is(r.stdout, '');
  assertNoOutput(opts.out!);
}));

libNotFound.run();

// ---
const libEmpty = pySuite('ERR_LIB_EMPTY: empty stdlib directory');

libEmpty('names the directory and says what a stdlib holds', inTmp(async (dir) => {
  const opts = options(dir);
  nodeFs.mkdirSync(opts.lib!);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_LIB_EMPTY');
  assert.ok(err.message.includes(opts.lib!), err.message);
  assert.ok(err.message.includes('holds no files'), err.message);
  assert.ok(err.hint?.includes('os.py'), err.hint);
  assertNoOutput(opts.out!);
}));

libEmpty('a directory holding only __pycache__ leftovers counts as empty', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { '__pycache__/os.cpython-311.pyc': 'x' });
  const err = await packError(opts);
  assert.is(err.code, 'ERR_LIB_EMPTY');
  assertNoOutput(opts.out!);
}));

libEmpty.run();

// ---
const noOsPy = pySuite('ERR_NO_OS_PY: a directory without os.py');

noOsPy('names the directory and os.py, and says to point --lib at a stdlib', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { 'json/__init__.py': '', 'abc.py': '' });
  const err = await packError(opts);
  assert.is(err.code, 'ERR_NO_OS_PY');
  assert.ok(err.message.startsWith(`${opts.lib} has no os.py`), err.message);
  assert.ok(err.hint?.includes('--lib'), err.hint);
  assertNoOutput(opts.out!);
}));

noOsPy('the CLI exits 1', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { 'abc.py': '' });
  const r = await cli(packArgv(opts));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_NO_OS_PY: '), r.stderr);
  assertNoOutput(opts.out!);
}));

noOsPy.run();

// ---
const pythonNotFound = suite('ERR_PYTHON_NOT_FOUND: build interpreter not found');

pythonNotFound('names the executable and says to pass --build-python', inTmp(async (dir) => {
  const opts = options(dir, { buildPython: '/nonexistent/python3' });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_PYTHON_NOT_FOUND');
  assert.ok(err.message.includes('"/nonexistent/python3" was not found'), err.message);
  assert.ok(err.hint?.includes('--build-python'), err.hint);
  assertNoOutput(opts.out!);
}));

pythonNotFound('the CLI exits 1', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const r = await cli(packArgv(opts, '--build-python', '/nonexistent/python3'));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_PYTHON_NOT_FOUND: '), r.stderr);
  assertNoOutput(opts.out!);
}));

pythonNotFound.run();

// ---
const pythonVersion = pySuite('ERR_PYTHON_VERSION: build interpreter of another Python version');

/** python3's own magic number, so the positive control matches whatever python3 is. */
function python3Magic(): number {
  const run = spawnSync(PY, ['-c', "import importlib.util; print(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))"], { encoding: 'utf8' });
  return Number(run.stdout.trim());
}

pythonVersion('a Lib/ of 3.10 (magic 3439) names 3.10, both magic numbers, the interpreter and the stdlib', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { ...SMALL_LIB, 'importlib/__init__.py': '', 'importlib/_bootstrap_external.py': bootstrapExternal(3439) });
  const err = await packError(opts);
  assert.is(err.code, 'ERR_PYTHON_VERSION');
  assert.ok(err.message.includes('magic 3439 = Python 3.10'), err.message);
  assert.ok(err.message.includes(`magic ${python3Magic()}`), err.message);
  assert.ok(err.message.includes(`${PY} (`), err.message);
  assert.ok(err.message.includes(opts.lib!), err.message);
  assert.ok(err.message.includes('would not load'), err.message);
  assert.ok(err.hint?.includes('--build-python <path to python3.10>'), err.hint);
  assertNoOutput(opts.out!);
}));

pythonVersion('the same tree stating python3\'s own magic number packs (the check is not always on)', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { ...SMALL_LIB, 'importlib/__init__.py': '', 'importlib/_bootstrap_external.py': bootstrapExternal(python3Magic()) });
  const result = await pack(opts);
  assert.ok(result.kept.some((k) => k.path === 'importlib/_bootstrap_external.py'));
}));

pythonVersion('the CLI exits 1', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { ...SMALL_LIB, 'importlib/__init__.py': '', 'importlib/_bootstrap_external.py': bootstrapExternal(3439) });
  const r = await cli(packArgv(opts));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_PYTHON_VERSION: '), r.stderr);
  assert.ok(r.stderr.includes('hint: pass --build-python <path to python3.10>'), r.stderr);
  assertNoOutput(opts.out!);
}));

pythonVersion.run();

// ---
const ruleInvalid = pySuite('ERR_RULE_INVALID: malformed rule file (rules: [file])');

ruleInvalid('a JSON syntax error names the file and the position', inTmp(async (dir) => {
  const file = path.join(dir, 'my-rules.json');
  nodeFs.writeFileSync(file, '{ "rules": [ { "id": "x", } ] }\n');
  const opts = options(dir, { rules: [file] });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_RULE_INVALID');
  assert.ok(err.message.includes(`${file}: not valid JSON`), err.message);
  assert.match(err.message, /position \d+|line \d+/);
  assert.ok(err.hint?.includes('README'), err.hint);
  assertNoOutput(opts.out!);
}));

ruleInvalid('a bad field names the file and the JSON path of the field', inTmp(async (dir) => {
  const file = path.join(dir, 'my-rules.json');
  nodeFs.writeFileSync(file, JSON.stringify({ rules: [{ id: 'mine', reason: 'r', omit: ['json/', 42] }] }));
  const opts = options(dir, { rules: [file] });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_RULE_INVALID');
  assert.ok(err.message.includes(`${file}: "rules[0].omit[1]" must be a glob string, got 42.`), err.message);
  assertNoOutput(opts.out!);
}));

ruleInvalid('every problem of every file is reported together', inTmp(async (dir) => {
  const a = path.join(dir, 'a.json');
  const b = path.join(dir, 'b.json');
  nodeFs.writeFileSync(a, '[1, 2');
  nodeFs.writeFileSync(b, JSON.stringify({ rules: [{ id: 'Bad Id', reason: '', omit: [] }] }));
  const opts = options(dir, { rules: [a, b] });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_RULE_INVALID');
  const details = err.details ?? [];
  assert.ok(details.some((d) => d.startsWith(`${a}: not valid JSON`)), details.join('\n'));
  assert.ok(details.some((d) => d.startsWith(`${b}: "rules[0].id"`)), details.join('\n'));
  assert.ok(details.some((d) => d.startsWith(`${b}: "rules[0].reason"`)), details.join('\n'));
  for (const d of details) assert.ok(err.message.includes(d), `message lacks ${d}`);
  assertNoOutput(opts.out!);
}));

ruleInvalid('the CLI exits 1 (--rules)', inTmp(async (dir) => {
  const file = path.join(dir, 'my-rules.json');
  nodeFs.writeFileSync(file, '{');
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const r = await cli(packArgv(opts, '--rules', file));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith(`error ERR_RULE_INVALID: Invalid rule file: ${file}: not valid JSON`), r.stderr);
  assertNoOutput(opts.out!);
}));

ruleInvalid.run();

// ---
/** A --builddir fixture: Makefile, pybuilddir.txt, build/lib.x/<sysconfigdata>. */
function buildRoot(dir: string, sysconfigdata: string, makefile = 'VERSION=3.11\nMODDISABLED_NAMES=_ctypes\n'): { builddir: string; sysconfigdataPath: string } {
  const builddir = path.join(dir, 'builddir');
  const name = '_sysconfigdata__emscripten_wasm32-emscripten.py';
  writeTree(builddir, {
    Makefile: makefile,
    'pybuilddir.txt': 'build/lib.x\n',
    [`build/lib.x/${name}`]: sysconfigdata,
  });
  return { builddir, sysconfigdataPath: path.join(builddir, 'build', 'lib.x', name) };
}

const moduleState = suite('ERR_MODULE_STATE: unknown MODULE_*_STATE in the sysconfigdata');

moduleState('names the variable, its value and the sysconfigdata file, and lists the known states', inTmp(async (dir) => {
  const { builddir, sysconfigdataPath } = buildRoot(dir, "build_time_vars = {'MACHDEP': 'emscripten',\n 'MODULE__SSL_STATE': 'missing',\n 'MODULE_ZLIB_STATE': 'maybe'}\n");
  const opts = options(dir, { builddir });
  writeTree(opts.lib!, SMALL_LIB);
  const before = filesUnder(builddir);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_MODULE_STATE');
  assert.ok(err.message.includes('MODULE_ZLIB_STATE'), err.message);
  assert.ok(err.message.includes('"maybe"'), err.message);
  assert.ok(err.message.includes(sysconfigdataPath), err.message);
  assert.ok(err.message.includes('yes, disabled, missing, n/a'), err.message);
  assert.ok(err.hint, 'has a hint');
  assertNoOutput(opts.out!);
  assert.equal(filesUnder(builddir), before, 'the build root is unchanged');
}));

moduleState('a non-string state is an error too', inTmp(async (dir) => {
  const { builddir } = buildRoot(dir, "build_time_vars = {'MODULE__SSL_STATE': 1}\n");
  const opts = options(dir, { builddir });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_MODULE_STATE');
  assert.ok(err.message.includes('MODULE__SSL_STATE'), err.message);
}));

moduleState('the CLI exits 1 (--builddir)', inTmp(async (dir) => {
  const { builddir } = buildRoot(dir, "build_time_vars = {'MODULE__SSL_STATE': 'maybe'}\n");
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const r = await cli(packArgv(opts, '--builddir', builddir));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_MODULE_STATE: Unknown value "maybe" for MODULE__SSL_STATE in '), r.stderr);
  assertNoOutput(opts.out!);
}));

moduleState.run();

// ---
const notLiteral = suite('ERR_SYSCONFIGDATA: a sysconfigdata that is not a literal');

notLiteral('a call inside the dict is rejected and never runs', inTmp(async (dir) => {
  const marker = path.join(dir, 'executed');
  const { builddir, sysconfigdataPath } = buildRoot(dir, `build_time_vars = {'MACHDEP': 'emscripten',\n 'X': open(${JSON.stringify(marker)}, 'w').write('ran')}\n`);
  const opts = options(dir, { builddir });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_SYSCONFIGDATA');
  assert.ok(err.message.includes(`${sysconfigdataPath} is not a plain sysconfigdata literal`), err.message);
  assert.ok(err.message.includes('line 2'), err.message);
  assert.ok(err.hint?.includes('never run'), err.hint);
  assert.not.ok(nodeFs.existsSync(marker), 'the sysconfigdata was executed');
  assertNoOutput(opts.out!);
}));

notLiteral('code after the dict is rejected and never runs (--sysconfigdata)', inTmp(async (dir) => {
  const marker = path.join(dir, 'executed');
  const { sysconfigdataPath } = buildRoot(dir, `build_time_vars = {'MACHDEP': 'emscripten'}\nimport os; os.mkdir(${JSON.stringify(marker)})\n`);
  const opts = options(dir, { sysconfigdata: sysconfigdataPath });
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_SYSCONFIGDATA');
  assert.ok(err.message.includes('unexpected code after the dict at line 2'), err.message);
  assert.not.ok(nodeFs.existsSync(marker), 'the sysconfigdata was executed');
  assertNoOutput(opts.out!);
}));

notLiteral('the CLI exits 1', inTmp(async (dir) => {
  const { sysconfigdataPath } = buildRoot(dir, 'build_time_vars = dict(A=1)\n');
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const r = await cli(packArgv(opts, '--sysconfigdata', sysconfigdataPath));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith(`error ERR_SYSCONFIGDATA: ${sysconfigdataPath} is not a plain sysconfigdata literal`), r.stderr);
  assertNoOutput(opts.out!);
}));

notLiteral.run();

// ---
const unreadable = pySuite('ERR_FILE_UNREADABLE: unreadable source file');

/** node:fs, except that reading `denied` (readFileSync, or openSync) fails with EACCES (chmod does not stop root). */
function denyingFs(denied: string): PackFs {
  const deny = <F extends (...args: any[]) => any>(fn: F) =>
    ((file: any, ...rest: any[]) => {
      if (path.resolve(String(file)) === denied) {
        throw Object.assign(new Error(`EACCES: permission denied, open '${denied}'`), { code: 'EACCES', errno: -13, syscall: 'open', path: denied });
      }
      return fn(file, ...rest);
    }) as F;
  return { ...nodeFs, readFileSync: deny(nodeFs.readFileSync), openSync: deny(nodeFs.openSync) } as PackFs;
}

unreadable('names the file and the errno, and says what to do', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const denied = path.join(opts.lib!, 'json', 'decoder.py');
  const err = await packError({ ...opts, fs: denyingFs(denied) });
  assert.is(err.code, 'ERR_FILE_UNREADABLE');
  assert.ok(err.message.includes(`Cannot read ${denied} (EACCES)`), err.message);
  assert.ok(err.hint?.includes('--omit'), err.hint);
  assertNoOutput(opts.out!);
}));

unreadable('keeps the original errno error as cause (STYLE.md §3)', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const denied = path.join(opts.lib!, 'json', 'decoder.py');
  const err = await packError({ ...opts, fs: denyingFs(denied) });
  assert.is(err.code, 'ERR_FILE_UNREADABLE');
  assert.is((err.cause as NodeJS.ErrnoException | undefined)?.code, 'EACCES', 'err.cause is the EACCES error');
}));

unreadable('an omitted file is never read, so it does not fail the run', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const result = await pack({ ...opts, fs: denyingFs(path.join(opts.lib!, 'test', 'test_json.py')) });
  assert.ok(result.omitted.some((o) => o.path === 'test/test_json.py'));
}));

unreadable.run();

// ---
const syntax = pySuite('ERR_SYNTAX: sources that do not compile');

const BAD: Record<string, string> = {
  'bad_paren.py': 'x = 1\ny = (\n',
  'json/bad_def.py': 'def f(:\n    pass\n',
};

syntax('lists every failing file as file:line: message and names --allow-syntax-errors', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { ...SMALL_LIB, ...BAD });
  const err = await packError(opts);
  assert.is(err.code, 'ERR_SYNTAX');
  assert.ok(err.message.startsWith('2 source files failed to compile:'), err.message);
  assert.equal(err.details, ["bad_paren.py:2: '(' was never closed", 'json/bad_def.py:1: invalid syntax']);
  for (const d of err.details!) assert.ok(err.message.includes(`\n  ${d}`), err.message);
  assert.ok(err.hint?.includes('--allow-syntax-errors'), err.hint);
  assertNoOutput(opts.out!);
}));

syntax('with allowSyntaxErrors the files ship as .py source and each is reported as a warning', inTmp(async (dir) => {
  const opts = options(dir, { allowSyntaxErrors: true });
  writeTree(opts.lib!, { ...SMALL_LIB, ...BAD });
  const result = await pack(opts);
  const zip = result.outputs.find((o) => o.kind === 'zip')!;
  const entries = unzipSync(nodeFs.readFileSync(zip.path));
  const names = Object.keys(entries).sort();
  assert.equal(names, ['_sysconfigdata__emscripten_wasm32-emscripten.pyc', 'abc.pyc', 'bad_paren.py', 'json/__init__.pyc', 'json/bad_def.py', 'json/decoder.pyc', 'os.pyc']);
  assert.is(new TextDecoder().decode(entries['json/bad_def.py']), BAD['json/bad_def.py']);
  const shipped = result.warnings.filter((w) => w.code === 'SYNTAX_ERROR_SHIPPED_AS_SOURCE');
  assert.equal(shipped.map((w) => w.path).sort(), ['bad_paren.py', 'json/bad_def.py']);
  assert.ok(shipped.some((w) => w.message.includes("bad_paren.py:2: '(' was never closed")), JSON.stringify(shipped));
  assert.equal(result.kept.filter((k) => k.source).map((k) => k.entry).sort(), ['bad_paren.py', 'json/bad_def.py']);
}));

syntax('the CLI exits 1 without the flag and 0 with --allow-syntax-errors, printing the warnings', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, { ...SMALL_LIB, ...BAD });
  const argv = packArgv(opts);
  const failed = await cli(argv);
  assert.is(failed.code, 1);
  assert.ok(failed.stderr.startsWith('error ERR_SYNTAX: 2 source files failed to compile:\n  bad_paren.py:2: '), failed.stderr);
  assertNoOutput(opts.out!);
  const allowed = await cli([...argv, '--allow-syntax-errors']);
  assert.is(allowed.code, 0, allowed.stderr);
  assert.ok(allowed.stdout.includes("warning SYNTAX_ERROR_SHIPPED_AS_SOURCE: json/bad_def.py:1: invalid syntax (shipped as .py source)"), allowed.stdout);
}));

syntax.run();

// ---
const outInsideLib = pySuite('ERR_OUT_INSIDE_LIB: output directory inside the stdlib');

outInsideLib('names both directories and says to pass --out elsewhere; creates nothing', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  for (const out of [path.join(base.lib!, 'build', 'out'), base.lib!]) {
    const before = filesUnder(base.lib!);
    const err = await packError({ ...base, out });
    assert.is(err.code, 'ERR_OUT_INSIDE_LIB');
    assert.ok(err.message.includes(`The output directory ${out} is inside the stdlib ${base.lib}`), err.message);
    assert.ok(err.hint?.includes('--out'), err.hint);
    assert.equal(filesUnder(base.lib!), before, 'nothing was written into the stdlib');
  }
  assert.not.ok(nodeFs.existsSync(path.join(base.lib!, 'build')));
}));

outInsideLib('a sibling whose name starts like the stdlib is not inside it', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const result = await pack({ ...base, out: `${base.lib}-out` });
  assert.ok(result.outputs.every((o) => o.path.startsWith(`${base.lib}-out${path.sep}`)));
}));

outInsideLib.run();

// ---
const addBad = pySuite('ERR_ADD: --add of something that is not a module');

addBad('a non-.py file, a directory without __init__.py and a missing path are each refused by name', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  writeTree(dir, { 'extra/notes.txt': 'hello', 'extra/plain/mod.py': '' });
  for (const bad of [path.join(dir, 'extra', 'notes.txt'), path.join(dir, 'extra', 'plain'), path.join(dir, 'extra', 'missing.py')]) {
    const err = await packError({ ...base, add: [bad] });
    assert.is(err.code, 'ERR_ADD');
    assert.ok(err.message.includes(`--add ${bad} is neither a .py file nor a package directory`), err.message);
    assert.ok(err.hint, 'has a hint');
    assertNoOutput(base.out!);
  }
}));

addBad('an added module that collides with a kept stdlib module is refused', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  writeTree(dir, { 'extra/abc.py': 'X = 1\n' });
  const err = await packError({ ...base, add: [path.join(dir, 'extra', 'abc.py')] });
  assert.is(err.code, 'ERR_ADD');
  assert.ok(err.message.includes('abc.py in the zip, which is also abc.py'), err.message);
  assertNoOutput(base.out!);
}));

addBad.run();

// ---
const badOption = suite('ERR_OPTION: bad option values');

badOption('level 12 and jobs 0 are refused with the flag, the allowed range and the value', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const level = await packError({ ...base, level: 12 });
  assert.is(level.code, 'ERR_OPTION');
  assert.is(level.message, '--level must be an integer from 0 to 9; got 12.');
  const jobs = await packError({ ...base, jobs: 0 });
  assert.is(jobs.code, 'ERR_OPTION');
  assert.is(jobs.message, '--jobs must be an integer from 1 to 256; got 0.');
  const profile = await packError({ ...base, profile: 'tiny' as never });
  assert.is(profile.code, 'ERR_OPTION');
  assert.ok(profile.message.includes('--profile must be one of cpython, wasm; got "tiny"'), profile.message);
  assertNoOutput(base.out!);
}));

badOption('the CLI exits 1 for --level 12 and --jobs 0', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const level = await cli(packArgv(base, '--level', '12'));
  assert.is(level.code, 1);
  assert.is(level.stderr, 'error ERR_OPTION: --level must be an integer from 0 to 9; got 12.\n');
  const jobs = await cli(packArgv(base, '--jobs', '0'));
  assert.is(jobs.code, 1);
  assert.ok(jobs.stderr.startsWith('error ERR_OPTION: --jobs must be an integer from 1 to 256; got 0.\n  hint: Leave --jobs out for one worker per core'), jobs.stderr);
  assertNoOutput(base.out!);
}));

badOption('--jobs 1e9 and --jobs 1000 are refused before any process starts, saying how many run at most', inTmp(async (dir) => {
  const base = options(dir, { buildPython: path.join(dir, 'never-started') });
  writeTree(base.lib!, SMALL_LIB);
  for (const jobs of ['1e9', '1000', '257']) {
    const r = await cli(packArgv(base, '--jobs', jobs, '--build-python', base.buildPython!));
    assert.is(r.code, 1, r.stderr);
    const cores = availableParallelism();
    assert.is(
      r.stderr,
      `error ERR_OPTION: --jobs must be an integer from 1 to 256; got ${Number(jobs)}.\n` +
        `  hint: Leave --jobs out for one worker per core; at most 4 per core (${4 * cores} here) are started, and never more than there are files to compile.\n`,
    );
  }
  assertNoOutput(base.out!);
}));

badOption('a valid --jobs above the files to compile starts one worker per file (and one probe)', inTmp(async (dir) => {
  const { exe, pids } = misbehavingPython(path.join(dir, 'py'), 'python-counted', PY, { slow: 0 });
  const base = options(dir, { buildPython: exe, jobs: Math.min(8, 4 * availableParallelism()) });
  writeTree(base.lib!, { 'os.py': 'import sys\n', 'abc.py': '' });
  const result = await pack(base);
  // os.py, abc.py and the target's sysconfigdata: three files, so three workers at most.
  assert.is(result.stats.cacheMisses, 3);
  const started = pidsOf(pids).filter((p) => p.role === 'sh').length;
  assert.ok(started <= 4, `${started} interpreters started for 3 files and a probe`);
  assert.equal(await stillRunning(pids), []);
}));

badOption.run();

// ---
const prefixOpt = pySuite('ERR_OPTION: a prefix that would put the outputs outside --out');

/** Every file below `dir`, but those below `except` (POSIX, relative): what a run must leave as it was. */
function filesOutside(dir: string, except: string[]): string[] {
  return filesUnder(dir).filter((f) => !except.some((e) => f === e || f.startsWith(`${e}/`)));
}

prefixOpt('a --prefix with ".." is refused before anything is written, whatever the target (it would put the outputs outside --out)', inTmp(async (dir) => {
  // --out three levels down: /../../../escaped would have landed at <dir>/d1/escaped.
  const base = options(dir, { out: path.join(dir, 'd1', 'd2', 'd3', 'out') });
  writeTree(base.lib!, SMALL_LIB);
  const before = filesUnder(dir);
  for (const extra of [{ package: false as const }, { target: 'wasi' as const }, { target: 'emscripten-node' as const }]) {
    for (const prefix of ['/../../../escaped', '/usr/../../../../escaped', '/usr/local/..']) {
      const err = await packError({ ...base, ...extra, prefix });
      assert.is(err.code, 'ERR_OPTION');
      assert.is(err.message, `--prefix ${JSON.stringify(prefix)} has a ".." segment: the outputs are written to <out>${prefix}/lib/..., and ".." would put them outside the output directory.`);
      assert.is(err.hint, 'Pass an absolute --prefix without ".." segments, like /usr/local.');
    }
  }
  assert.equal(filesUnder(dir), before, 'nothing was written anywhere');
  assert.not.ok(nodeFs.existsSync(path.join(dir, 'd1')), 'no directory was made');
  // A ".." inside a name is no segment; a doubled or trailing slash is normalized.
  const ok = await pack({ ...base, prefix: '/opt/..py//x/' });
  assert.equal(ok.outputs.map((o) => path.relative(base.out!, o.path)).sort(), ['opt/..py/x/lib/python3.11/lib-dynload/.empty', 'opt/..py/x/lib/python3.11/os.py', `opt/..py/x/lib/python${ok.version.replace('.', '')}.zip`].sort());
}));

prefixOpt('the CLI exits 1 for --prefix /../escaped, and --target wasi writes nothing outside --out', inTmp(async (dir) => {
  const base = options(dir, { out: path.join(dir, 'a', 'out') });
  writeTree(base.lib!, SMALL_LIB);
  const r = await cli(packArgv(base, '--prefix', '/../escaped', '--target', 'wasi'));
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error ERR_OPTION: --prefix "/../escaped" has a ".." segment: the outputs are written to <out>/../escaped/lib/..., and ".." would put them outside the output directory.\n  hint: Pass an absolute --prefix without ".." segments, like /usr/local.\n');
  assert.equal(filesOutside(dir, ['Lib']), []);
}));

prefixOpt('checkInsideOut: the last check before writing refuses any planned output outside --out', () => {
  const out = '/work/out';
  const file = (p: string) => ({ path: p, data: new Uint8Array(), kind: 'zip' as const });
  checkInsideOut({ out, prefix: '/usr/local' }, [file('/work/out/usr/local/lib/python311.zip')]);
  for (const bad of ['/work/escaped/lib/python311.zip', '/work/out', '/work/out2/x']) {
    try {
      checkInsideOut({ out, prefix: '/x' }, [file('/work/out/ok'), file(bad)]);
      assert.unreachable(`${bad} was let through`);
    } catch (error) {
      assert.instance(error, PackError);
      assert.is((error as PackError).code, 'ERR_WRITE');
      assert.is((error as PackError).message, `Refusing to write ${bad}: outside the output directory /work/out (prefix "/x").`);
    }
  }
});

prefixOpt('a Makefile prefix= with ".." is refused the same way, naming the Makefile; --prefix overrides it', inTmp(async (dir) => {
  const { builddir } = buildRoot(dir, "build_time_vars = {'MACHDEP': 'emscripten'}\n", 'VERSION=3.11\nprefix=\t/usr/../../escaped\n');
  const base = options(dir, { builddir, out: path.join(dir, 'a', 'out'), target: 'emscripten-node' });
  writeTree(base.lib!, SMALL_LIB);
  const before = filesUnder(dir);
  const err = await packError(base);
  assert.is(err.code, 'ERR_OPTION');
  assert.is(err.message, `prefix= in ${path.join(builddir, 'Makefile')} "/usr/../../escaped" has a ".." segment: the outputs are written to <out>/usr/../../escaped/lib/..., and ".." would put them outside the output directory.`);
  assert.is(err.hint, 'Pass --prefix /usr/local (the prefix in the WebAssembly file system), or fix prefix= in the Makefile.');
  assert.equal(filesUnder(dir), before, 'nothing was written anywhere');
  const ok = await pack({ ...base, prefix: '/usr/local' });
  assert.ok(ok.outputs.every((o) => o.path.startsWith(path.join(base.out!, 'usr', 'local') + path.sep)), ok.outputs.map((o) => o.path).join(' '));
}));

prefixOpt.run();

// ---
const emptyOrLong = suite('ERR_OPTION: empty and very long option values');

emptyOrLong('an empty --out (or any empty path option) is refused, not taken as ./dist or the current directory', inTmp(async (dir) => {
  const base = options(dir, { cwd: dir });
  writeTree(base.lib!, SMALL_LIB);
  const before = filesUnder(dir);
  const err = await packError({ ...base, out: '' });
  assert.is(err.code, 'ERR_OPTION');
  assert.is(err.message, "--out is an empty string; it names no path (an empty path would silently mean the default, or the current directory).");
  assert.is(err.hint, 'Pass a path to --out, or leave the flag out for its default.');
  for (const [key, flag] of [['lib', '--lib'], ['cacheDir', '--cache-dir'], ['prefix', '--prefix'], ['buildPython', '--build-python']] as const) {
    const e = await packError({ ...base, [key]: '' });
    assert.is(e.message.split(';')[0], `${flag} is an empty string`);
  }
  assert.is((await packError({ ...base, add: [path.join(dir, 'x.py'), ''] })).message.split(';')[0], '--add is an empty string');
  const r = await cli(packArgv(base, '--out', ''));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_OPTION: --out is an empty string;'), r.stderr);
  assert.equal(filesUnder(dir), before, 'nothing was written (no ./dist)');
}));

emptyOrLong('a very long value is cut in the message, which says how much more there was', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const huge = 'x'.repeat(1 << 20);
  const prefix = await packError({ ...base, prefix: huge });
  assert.is(prefix.code, 'ERR_OPTION');
  assert.ok(prefix.message.length < 500, `${prefix.message.length} characters`);
  assert.ok(prefix.message.endsWith(`got "${'x'.repeat(199)}… (${(1 << 20) + 2 - 200} more characters).`), prefix.message.slice(-120));
  const dotted = await packError({ ...base, prefix: `/../${huge}` });
  assert.ok(dotted.message.length < 500, `${dotted.message.length} characters`);
  const profile = await packError({ ...base, profile: huge as never });
  assert.ok(profile.message.length < 500, `${profile.message.length} characters`);
  const glob = await packError({ ...base, keep: [huge] });
  assert.is(glob.message.slice(0, 10), '--keep "xx');
  assert.ok(glob.message.length < 600, `${glob.message.length} characters`);
  // The CLI: a usage error and an unknown argument echo at most a few hundred characters too.
  const level = await cli(packArgv(base, '--level', huge));
  assert.is(level.code, 2);
  assert.is(level.stderr, 'error: --level takes an integer, got NaN\nRun pywasm-assets --help for usage.\n');
  const unknown = await cli(packArgv(base, `--${huge}`, '1'));
  assert.is(unknown.code, 2);
  assert.is(unknown.stderr, `error: Unknown argument: ${'x'.repeat(200)}… (${(1 << 20) - 200} more characters)\nRun pywasm-assets --help for usage.\n`);
  // A rule file with a megabyte-long glob and id.
  const rules = path.join(dir, 'huge.json');
  nodeFs.writeFileSync(rules, JSON.stringify({ rules: [{ id: 'Bad id ' + huge, reason: 'r', omit: [huge] }] }));
  const rule = await packError({ ...base, rules: [rules] });
  assert.is(rule.code, 'ERR_RULE_INVALID');
  assert.ok(rule.message.length < 2000, `${rule.message.length} characters`);
  assert.ok(rule.message.includes(`a glob may have at most 4096: "${'x'.repeat(199)}… (`), rule.message);
  assertNoOutput(base.out!);
}));

emptyOrLong.run();

// ---
const epoch = suite('ERR_OPTION: SOURCE_DATE_EPOCH');

/** Runs `fn` with SOURCE_DATE_EPOCH set to `value` (undefined: unset), restoring it after. */
async function withEpoch<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.SOURCE_DATE_EPOCH;
  if (value === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
}

epoch('a value that is not a non-negative integer fails the run (the reproducible-builds specification), naming it', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  for (const value of ['garbage', '-1', '1e3', '12.5', ' 1700000000', '0x10', '١٢٣']) {
    const err = await withEpoch(value, () => packError(base));
    assert.is(err.code, 'ERR_OPTION', value);
    assert.is(err.message, `The environment variable SOURCE_DATE_EPOCH must be a non-negative integer (seconds since 1970-01-01 UTC, like \`date +%s\` prints); got ${JSON.stringify(value)}.`);
    assert.is(err.hint, 'Set it to whole seconds, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it.');
  }
  for (const value of [-1, 1.5, Number.NaN]) {
    const err = await packError({ ...base, sourceDateEpoch: value });
    assert.ok(err.message.startsWith('sourceDateEpoch must be a non-negative integer'), err.message);
  }
  assertNoOutput(base.out!);
}));

epoch('a time a zip entry (or a timestamp pyc) cannot hold is refused instead of wrapping to another date', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const late = await withEpoch('4354819200', () => packError(base));
  assert.is(late.message, 'The environment variable SOURCE_DATE_EPOCH is 4354819200, after 2107-12-31 23:59:59 UTC (4354819199), the last time a zip entry can hold; it would wrap around to another date.');
  const pyc = await packError({ ...base, invalidation: 'timestamp', sourceDateEpoch: 2 ** 32 });
  assert.ok(pyc.message.startsWith('sourceDateEpoch is 4294967296, after 2106-02-07 06:28:15 UTC (4294967295), the last time a timestamp pyc can hold'), pyc.message);
  assertNoOutput(base.out!);
}));

epoch('an empty SOURCE_DATE_EPOCH means unset, and the last second of 2107 is accepted', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const dates = async (out: string, value: string | undefined) => {
    const r = await withEpoch(value, () => pack({ ...base, out: path.join(dir, out) }));
    const zip = nodeFs.readFileSync(r.outputs.find((o) => o.kind === 'zip')!.path);
    return zip.readUInt32LE(zip.indexOf('PK\x03\x04') + 10); // DOS time and date of the first entry
  };
  assert.is(await dates('empty', ''), await dates('unset', undefined));
  assert.is(await dates('unset-again', undefined), 0x00210000); // 1980-01-01 00:00:00
  assert.is(await dates('last', '4354819199'), (((2107 - 1980) << 9) | (12 << 5) | 31) * 0x10000 + ((23 << 11) | (59 << 5) | 29));
}));

epoch('the CLI exits 1 for SOURCE_DATE_EPOCH=garbage', inTmp(async (dir) => {
  const base = options(dir);
  writeTree(base.lib!, SMALL_LIB);
  const r = await withEpoch('garbage', () => cli(packArgv(base)));
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith('error ERR_OPTION: The environment variable SOURCE_DATE_EPOCH must be a non-negative integer'), r.stderr);
  assertNoOutput(base.out!);
}));

epoch.run();

// ---
const unloadable = pySuite('ERR_UNLOADABLE: output the target could not load');

/** A WASI build root whose sysconfigdata says zlib is 'missing' (the WASI SDK has no zlib), and one that has it. */
function wasiBuildRoot(dir: string, zlib: 'missing' | 'yes'): string {
  const root = path.join(dir, `wasi-${zlib}`);
  nodeFs.cpSync(path.join(REPO_ROOT, 'test/fixtures/builds/wasi-3.11'), root, { recursive: true });
  const file = path.join(root, 'build/lib.wasi-wasm32-3.11/_sysconfigdata__wasi_wasm32-wasi.py');
  const text = nodeFs.readFileSync(file, 'utf8');
  assert.match(text, /'MODULE_ZLIB_STATE': 'missing'/);
  nodeFs.writeFileSync(file, text.replace("'MODULE_ZLIB_STATE': 'missing'", `'MODULE_ZLIB_STATE': '${zlib}'`));
  return root;
}

unloadable('a target without zlib gets a stored zip by default, and the result and summary say why', inTmp(async (dir) => {
  const base = options(dir, { builddir: wasiBuildRoot(dir, 'missing') });
  writeTree(base.lib!, SMALL_LIB);
  const result = await pack(base);
  assert.is(result.compression.method, 'stored');
  assert.match(result.compression.reason!, /^stored, because the target has no zlib \(MODULE_ZLIB_STATE = 'missing' in .*_sysconfigdata__wasi_wasm32-wasi\.py\)/);
  const zip = nodeFs.readFileSync(result.outputs.find((o) => o.kind === 'zip')!.path);
  // Every local header's method is 0 (stored).
  for (let i = zip.indexOf('PK\x03\x04'); i >= 0; i = zip.indexOf('PK\x03\x04', i + 4)) assert.is(zip.readUInt16LE(i + 8), 0);
  const r = await cli(packArgv({ ...base, out: path.join(dir, 'out-cli') }, '--builddir', base.builddir!, '--package', 'false'));
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.split('\n')[1].startsWith("  zip entries stored, because the target has no zlib (MODULE_ZLIB_STATE = 'missing' in "), r.stdout);
}));

unloadable('an explicit --compression deflate for it is refused, naming the fact and what to do; nothing is written', inTmp(async (dir) => {
  const base = options(dir, { builddir: wasiBuildRoot(dir, 'missing'), compression: 'deflate' });
  writeTree(base.lib!, SMALL_LIB);
  const err = await packError(base);
  assert.is(err.code, 'ERR_UNLOADABLE');
  assert.match(err.message, /^--compression deflate: the target has no zlib \(MODULE_ZLIB_STATE = 'missing' in .*\), so its zipimport could not inflate the zip and the interpreter would die at start-up/);
  assert.ok(err.hint?.includes('Drop --compression'), err.hint);
  assertNoOutput(base.out!);
  // Stored, asked for explicitly, is fine; and a target with zlib gets deflate, with no reason given.
  assert.is((await pack({ ...base, compression: 'stored' })).compression.reason, undefined);
  const withZlib = await pack({ ...base, compression: undefined, builddir: wasiBuildRoot(dir, 'yes'), out: path.join(dir, 'out-zlib') });
  assert.equal(withZlib.compression, { method: 'deflate' });
}));

unloadable('a file_packager package asked for a WASI target is refused (a WASI runtime maps the directory)', inTmp(async (dir) => {
  const base = options(dir, { builddir: wasiBuildRoot(dir, 'missing'), package: 'stdlib' });
  writeTree(base.lib!, SMALL_LIB);
  const err = await packError(base);
  assert.is(err.code, 'ERR_OPTION');
  assert.ok(err.message.startsWith('--package stdlib: a file_packager package is for Emscripten programs'), err.message);
  assertNoOutput(base.out!);
}));

unloadable('omitting a module the interpreter imports while it starts (encodings and its UTF-8 codec) is refused, naming the rule', inTmp(async (dir) => {
  const encodings = { 'encodings/__init__.py': 'from . import aliases\n', 'encodings/aliases.py': 'aliases = {}\n', 'encodings/utf_8.py': 'import codecs\n', 'codecs.py': '' };
  const base = options(dir);
  writeTree(base.lib!, { ...SMALL_LIB, ...encodings });
  for (const omit of ['encodings/utf_8.py', 'encodings/']) {
    const err = await packError({ ...base, omit: [omit] });
    assert.is(err.code, 'ERR_UNLOADABLE');
    assert.match(err.message, new RegExp(`^The bundle would lack encodings${omit === 'encodings/' ? '' : '\\.utf_8'} \\(omitted by cli-omit: ${omit.replace('.', '\\.')}\\)`));
    assert.ok(err.message.endsWith('which the interpreter imports while it starts (to decode file names): it would die at start-up.'), err.message);
    assertNoOutput(base.out!);
  }
  // Kept, it packs.
  assert.ok((await pack(base)).kept.some((k) => k.module === 'encodings.utf_8'));
}));

unloadable.run();

// ---
const writeFails = pySuite('ERR_WRITE: a failed write leaves no output behind');

/** node:fs, except that `op` fails with EIO for the output whose final name ends with `suffix`. */
function failingFs(op: 'writeFileSync' | 'renameSync', suffix: string): PackFs {
  const wrapped = ((...args: any[]) => {
    const target = String(op === 'renameSync' ? args[1] : args[0]);
    if (target.replace(/\.tmp-[^/]*$/, '').endsWith(suffix)) {
      throw Object.assign(new Error(`EIO: i/o error, ${op} '${target}'`), { code: 'EIO', path: target });
    }
    return (nodeFs[op] as any)(...args);
  }) as any;
  return { ...nodeFs, [op]: wrapped } as PackFs;
}

writeFails('when writing the second output fails, no output and no temporary file remains', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError({ ...opts, fs: failingFs('writeFileSync', `${path.sep}os.py`) });
  assert.is(err.code, 'ERR_WRITE');
  assert.ok(err.message.includes('os.py') && err.message.includes('(EIO)'), err.message);
  assert.equal(filesUnder(opts.out!), []);
}));

writeFails('when renaming the second output into place fails, the first one is not left behind', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const err = await packError({ ...opts, fs: failingFs('renameSync', `${path.sep}os.py`) });
  assert.is(err.code, 'ERR_WRITE');
  assert.equal(filesUnder(opts.out!), [], 'outputs appear complete or not at all');
}));

writeFails('a directory where the zip goes is an error before anything is written; it is never moved or renamed', inTmp(async (dir) => {
  const opts = options(dir);
  writeTree(opts.lib!, SMALL_LIB);
  const zip = path.join(opts.out!, 'usr', 'local', 'lib', 'python311.zip');
  writeTree(zip, { 'mine.txt': 'my data' });
  const before = filesUnder(opts.out!);
  const err = await packError(opts);
  assert.is(err.code, 'ERR_WRITE');
  assert.is(err.message, `${zip} is a directory, where the zip goes; nothing was written.`);
  assert.is(err.hint, 'Remove that directory (or move it away), or pass another --out.');
  assert.equal(filesUnder(opts.out!), before, 'the directory is untouched and nothing else was written');
  assert.equal(nodeFs.readdirSync(path.dirname(zip)), ['python311.zip']);
  const r = await cli(packArgv(opts));
  assert.is(r.code, 1);
  assert.is(r.stderr, `error ERR_WRITE: ${zip} is a directory, where the zip goes; nothing was written.\n  hint: Remove that directory (or move it away), or pass another --out.\n`);
  assert.equal(filesUnder(opts.out!), before);
}));

writeFails('a file where a directory of the outputs goes is an error naming it, before anything is written', inTmp(async (dir) => {
  const opts = options(dir, { package: 'python-stdlib' });
  writeTree(opts.lib!, SMALL_LIB);
  writeTree(opts.out!, { usr: 'a file' });
  const err = await packError(opts);
  assert.is(err.code, 'ERR_WRITE');
  assert.ok(err.message.startsWith(`${path.join(opts.out!, 'usr')} is a file, where the directory of `), err.message);
  assert.equal(filesUnder(opts.out!), ['usr'], 'not even the package, which goes beside usr/');
}));

writeFails.run();

// ---
const cacheUnusable = pySuite('CACHE_UNUSABLE: a cache that cannot be used is said once, and the run goes on');

cacheUnusable('a --cache-dir that is a file, or a directory where the cache file goes: one warning with the path and why; outputs as without a cache', inTmp(async (dir) => {
  const base = options(dir, { cache: true });
  writeTree(base.lib!, SMALL_LIB);
  const reference = await pack({ ...base, cache: false, out: path.join(dir, 'reference') });
  const asFile = path.join(dir, 'cache-file');
  nodeFs.writeFileSync(asFile, 'not a directory');
  const asDir = path.join(dir, 'cache-dir');
  nodeFs.mkdirSync(path.join(asDir, 'pack-v2.bin'), { recursive: true });
  const cases: [string, string][] = [
    [asFile, `${asFile} is a file, not a directory`],
    [asDir, `${path.join(asDir, 'pack-v2.bin')} is a directory`],
  ];
  for (const [cacheDir, why] of cases) {
    for (const run of [1, 2]) {
      const out = path.join(dir, `out-${path.basename(cacheDir)}-${run}`);
      const result = await pack({ ...base, cacheDir, out });
      const warnings = result.warnings.filter((w) => w.code === 'CACHE_UNUSABLE');
      assert.equal(
        warnings.map((w) => w.message),
        [`The compile cache cannot be used: ${why}, so every run compiles everything again. Fix that (remove what is in the way, or make the directory writable), pass another --cache-dir, or pass --no-cache.`],
        `run ${run}`,
      );
      assert.is(result.stats.cacheHits, 0);
      for (const [i, o] of result.outputs.entries()) assert.ok(nodeFs.readFileSync(o.path).equals(nodeFs.readFileSync(reference.outputs[i].path)), `${o.path} is byte-identical`);
    }
  }
  assert.is(nodeFs.readFileSync(asFile, 'utf8'), 'not a directory');
  assert.equal(nodeFs.readdirSync(path.join(asDir, 'pack-v2.bin')), []);
  assert.not.ok(nodeFs.readdirSync(asDir).some((name) => name.endsWith('.tmp')), 'no temporary left in the cache directory');
  const r = await cli(packArgv({ ...base, out: path.join(dir, 'out-cli') }, '--cache-dir', asFile).filter((a) => a !== '--no-cache'));
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(`  warning CACHE_UNUSABLE: The compile cache cannot be used: ${asFile} is a file, not a directory,`), r.stdout);
}));

cacheUnusable('--no-cache says nothing about it', inTmp(async (dir) => {
  const base = options(dir, { cacheDir: path.join(dir, 'x'), cache: false });
  writeTree(base.lib!, SMALL_LIB);
  nodeFs.writeFileSync(path.join(dir, 'x'), 'a file');
  assert.equal((await pack(base)).warnings.filter((w) => w.code === 'CACHE_UNUSABLE'), []);
}));

cacheUnusable.run();
