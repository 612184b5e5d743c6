/**
 * The CLI: main(argv, io) in-process with a captured io, over one small Lib/
 * tree shared by the whole file (each run packs it with the real python3 in
 * ~0.3 s; runs whose output several tests read are made once). Two tests
 * start processes: `--help` (in a child, because it must not end the runner)
 * and the smoke test of bin/pywasm-assets.js (needs dist/: `npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../src/cli.js';
import type { PackResult } from '../src/types.js';
import { captureIO, filesUnder, HAS_PYTHON3, makeTmp, PYTHON3, rmTmp, SMALL_LIB, writeTree } from './fixtures/errors/support.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PY = PYTHON3 ?? 'python3';
if (!HAS_PYTHON3) console.log('cli.test.ts: python3 (3.8+) is not runnable here; the runs that pack will fail with ERR_PYTHON_NOT_FOUND.');

const ROOT = makeTmp('pywasm-assets-cli-');
process.once('exit', () => rmTmp(ROOT));

/** The shared tree: SMALL_LIB plus modules omitted for a missing extension (evidence in --explain). */
const LIB = writeTree(path.join(ROOT, 'Lib'), {
  ...SMALL_LIB,
  'sqlite3/__init__.py': 'import _sqlite3\n',
  'sqlite3/dump.py': '',
  'tty.py': 'import termios\n',
});
/** The lead's Emscripten 3.11 build root (Makefile + sysconfigdata); used for its facts only. */
const BUILDDIR = path.join(REPO, 'test', 'fixtures', 'builds', 'emscripten-3.11');
const SYSCONFIGDATA = path.join(BUILDDIR, 'build', 'lib.emscripten-wasm32-3.11', '_sysconfigdata__emscripten_wasm32-emscripten.py');

const INPUT = ['--lib', LIB, '--build-python', PY, '--no-cache', '--jobs', '1'];
// The embedded default ships a sysconfigdata rendered from rules/builds/emscripten-3.11.json first.
const KEPT = ['_sysconfigdata__emscripten_wasm32-emscripten.py', 'abc.py', 'json/__init__.py', 'json/decoder.py', 'os.py'];
const OMITTED: Record<string, string> = {
  'sqlite3/__init__.py': 'ext-sqlite3',
  'sqlite3/dump.py': 'ext-sqlite3',
  'test/__init__.py': 'tests',
  'test/test_json.py': 'tests',
  'tty.py': 'ext-termios',
};
const TESTS_REASON = "CPython's regression test suite (test/); applications never import it and it is the largest part of Lib/.";

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO();
  const code = await main(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** Runs `fn` once, on first use; later calls share the result. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}

/** Temporary paths in messages, made stable for snapshots. */
const stable = (text: string) => text.split(ROOT).join('<tmp>');

const OUT_JSON = path.join(ROOT, 'out-json');
const OUT_SUMMARY = path.join(ROOT, 'out-summary');
// `--omit jsn/` is a typo (json/ was meant): it matches nothing, which is a warning.
const TYPO = ['--omit', 'jsn/'];
const packJson = once(() => cli(['pack', ...INPUT, ...TYPO, '--out', OUT_JSON, '--package', 'false', '--json']));
const packSummary = once(() => cli(['pack', ...INPUT, ...TYPO, '--out', OUT_SUMMARY]));
const explainAll = once(() => cli(['pack', ...INPUT, '--out', path.join(ROOT, 'out-explain'), '--explain']));

// ---
const json = suite('main: pack --json');

json('exits 0 and prints exactly one JSON document on stdout, nothing on stderr', async () => {
  const r = await packJson();
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.ok(r.stdout.endsWith('}\n'));
  JSON.parse(r.stdout);
});

json('kept lists each module with its zip entry; omitted gives rule, reason and evidence', async () => {
  const result = JSON.parse((await packJson()).stdout) as PackResult;
  assert.equal(result.kept.map((k) => k.path).sort(), KEPT);
  const decoder = result.kept.find((k) => k.path === 'json/decoder.py')!;
  assert.is(decoder.module, 'json.decoder');
  assert.is(decoder.entry, 'json/decoder.pyc');
  assert.is(decoder.origin, 'stdlib');
  assert.equal(Object.fromEntries(result.omitted.map((o) => [o.path, o.rule])), OMITTED);
  for (const o of result.omitted) assert.ok(o.reason.length > 10, `${o.path} has a reason`);
  assert.is(result.omitted.find((o) => o.path === 'test/__init__.py')!.reason, TESTS_REASON);
  const tty = result.omitted.find((o) => o.path === 'tty.py')!;
  assert.equal(tty.evidence, ["termios is 'n/a' in the built-in description of a stock Emscripten build (rules/builds/emscripten-3.11.json)"]);
});

json('outputs are the written files with their kind and size; warnings are coded', async () => {
  const result = JSON.parse((await packJson()).stdout) as PackResult;
  const prefix = path.join(OUT_JSON, 'usr', 'local', 'lib');
  assert.equal(
    result.outputs.map((o) => [o.kind, o.path]),
    [
      ['zip', path.join(prefix, 'python311.zip')],
      ['os.py', path.join(prefix, 'python3.11', 'os.py')],
      ['lib-dynload', path.join(prefix, 'python3.11', 'lib-dynload', '.empty')],
    ],
  );
  for (const o of result.outputs) assert.is(nodeFs.statSync(o.path).size, o.bytes, o.path);
  assert.equal(filesUnder(OUT_JSON), ['usr/local/lib/python3.11/lib-dynload/.empty', 'usr/local/lib/python3.11/os.py', 'usr/local/lib/python311.zip']);
  assert.ok(result.warnings.some((w) => w.code === 'RULE_UNMATCHED' && w.message === '--omit "jsn/" matches nothing in this stdlib'), JSON.stringify(result.warnings));
  // This small tree has no ctypes/ at all, like a distribution that splits modules off: no typo, no warning.
  assert.not.ok(result.warnings.some((w) => w.message.includes('"ctypes/"')), JSON.stringify(result.warnings));
  for (const w of result.warnings) assert.type(w.message, 'string');
});

json('the zip holds exactly the kept entries', async () => {
  const result = JSON.parse((await packJson()).stdout) as PackResult;
  const zip = unzipSync(nodeFs.readFileSync(result.outputs.find((o) => o.kind === 'zip')!.path));
  assert.equal(Object.keys(zip).sort(), result.kept.map((k) => k.entry).sort());
});

json.run();

// ---
const summary = suite('main: pack (summary)');

summary('the first line is `Created <zip> (x MiB, N modules, M omitted)`', async () => {
  const r = await packSummary();
  assert.is(r.code, 0, r.stderr);
  const first = r.stdout.split('\n')[0];
  const zip = path.join(OUT_SUMMARY, 'usr', 'local', 'lib', 'python311.zip');
  assert.ok(first.startsWith(`Created ${zip} (`), first);
  assert.match(first, /\(\d+(\.\d+)? MiB, 5 modules, 5 omitted\)$/);
  assert.ok(nodeFs.statSync(zip).isFile());
});

summary('then every other output with its size, and the warnings by code', async () => {
  const r = await packSummary();
  const lines = r.stdout.split('\n');
  for (const name of ['usr/local/lib/python3.11/os.py', 'usr/local/lib/python3.11/lib-dynload/.empty', 'python-stdlib.data', 'python-stdlib.js']) {
    const file = path.join(OUT_SUMMARY, ...name.split('/'));
    assert.ok(lines.includes(`  ${file} (${nodeFs.statSync(file).size} bytes)`), `${name} is listed:\n${r.stdout}`);
  }
  assert.match(r.stdout, /\n\d+ warnings?:\n/);
  assert.ok(lines.includes('  warning RULE_UNMATCHED: --omit "jsn/" matches nothing in this stdlib'), r.stdout);
  assert.is(r.stderr, '', 'no progress display without a TTY');
});

summary('on a TTY, stderr shows compile progress (files compiled / total); --json keeps it silent', async () => {
  for (const json of [false, true]) {
    const c = captureIO();
    let progress = '';
    const io = { stdout: c.io.stdout, stderr: { isTTY: true, write: (s: string) => ((progress += s), true) } };
    const code = await main(['pack', ...INPUT, '--out', path.join(ROOT, `out-tty-${json}`), '--package', 'false', ...(json ? ['--json'] : [])], io);
    assert.is(code, 0, progress);
    if (json) assert.is(progress, '', '--json: no progress');
    else assert.match(progress, /\rcompile: 5\/5 files\n$/);
  }
});

summary.run();

// ---
const replacing = suite('main: pack into a build root (the default --out with --builddir)');

replacing("says when it replaced the build's own assets and what a later make does; a rerun that writes the same bytes says nothing", async () => {
  const root = path.join(ROOT, 'buildroot');
  nodeFs.cpSync(BUILDDIR, root, { recursive: true });
  // What `make wasm_stdlib` leaves there: CPython's own zip.
  writeTree(root, { 'usr/local/lib/python311.zip': 'their zip' });
  const argv = ['pack', '--builddir', root, ...INPUT];
  const first = await cli(argv);
  assert.is(first.code, 0, first.stderr);
  const lines = first.stdout.split('\n');
  assert.ok(lines[0].endsWith(' omitted, replaced)'), lines[0]);
  assert.ok(lines.includes("1 output replaced what `make` wrote in this build root (CPython's own assets, from wasm_assets.py). A later `make` relinks python.js with these; after a change to Lib/ it runs wasm_assets.py and writes its own again: run pywasm-assets after `make`, or pack into another --out."), first.stdout);
  const again = await cli(argv);
  assert.is(again.code, 0, again.stderr);
  assert.not.match(again.stdout, /replaced/);
});

replacing.run();

// ---
const explainFlag = suite('main: pack --explain');

explainFlag('lists each omitted file or whole directory with rule id, rule file, pattern, reason and evidence', async () => {
  const r = await explainAll();
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(lines.includes('omit  test/ (2 files)  tests (rules/tests.json "test/")'), r.stdout);
  assert.ok(lines.includes(`        why: ${TESTS_REASON}`), r.stdout);
  assert.ok(lines.includes('omit  sqlite3/ (2 files)  ext-sqlite3 (rules/extensions.json "sqlite3/")'), r.stdout);
  assert.ok(lines.includes('omit  tty.py  ext-termios (rules/extensions.json "tty.py")'), r.stdout);
  assert.ok(lines.includes("        evidence: termios is 'n/a' in the built-in description of a stock Emscripten build (rules/builds/emscripten-3.11.json)"), r.stdout);
  assert.not.ok(lines.some((l) => l.includes('json/')), 'kept files are not listed');
  assert.is(lines[lines.length - 1], '4 kept, 5 omitted');
});

explainFlag('writes nothing', async () => {
  await explainAll();
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-explain')));
});

explainFlag('with --builddir the evidence cites the Makefile and the sysconfigdata; the build root is untouched', async () => {
  const before = filesUnder(BUILDDIR);
  const r = await cli(['pack', ...INPUT, '--builddir', BUILDDIR, '--explain']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes(`        evidence: _sqlite3 is in MODDISABLED_NAMES in ${path.join(BUILDDIR, 'Makefile')}`), r.stdout);
  assert.ok(lines.includes(`        evidence: MODULE_TERMIOS_STATE = 'n/a' in ${SYSCONFIGDATA}`), r.stdout);
  assert.equal(filesUnder(BUILDDIR), before, 'no output in the build root (the default --out)');
});

explainFlag('with --profile cpython, kept modules that cannot import are listed as fails, with the chain', async () => {
  const r = await cli(['pack', ...INPUT, '--out', path.join(ROOT, 'out-explain-cpython'), '--explain', '--profile', 'cpython']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(
    lines.includes(
      "fails tty.py  kept, but cannot be imported on the target: tty imports termios, an extension module the target lacks (termios is 'n/a' in the built-in description of a stock Emscripten build (rules/builds/emscripten-3.11.json))",
    ),
    r.stdout,
  );
  assert.is(lines[lines.length - 1], '5 kept, 4 omitted, 1 kept that cannot import');
  assert.not.ok(r.stderr.includes('IMPORT_UNAVAILABLE'), 'listed once, on stdout');
});

explainFlag('with --json prints every decision as data', async () => {
  const r = await cli(['pack', ...INPUT, '--out', path.join(ROOT, 'out-explain-json'), '--explain', '--json']);
  assert.is(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout) as { decisions: { path: string; action: string; rule?: { id: string } }[] };
  // Decisions are about the stdlib's own files (the sysconfigdata comes from the build description).
  assert.equal(data.decisions.filter((d) => d.action === 'keep').map((d) => d.path), KEPT.slice(1));
  assert.equal(Object.fromEntries(data.decisions.filter((d) => d.action === 'omit').map((d) => [d.path, d.rule?.id])), OMITTED);
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-explain-json')));
});

explainFlag.run();

// ---
const explainOne = suite('main: explain <module-or-path>');

explainOne('json.decoder is kept, because no rule omits it', async () => {
  const r = await cli(['explain', 'json.decoder', ...INPUT]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'keep  json/decoder.py  (no rule omits it)\n');
});

explainOne('test (the package) is omitted by rule tests, with its reason', async () => {
  const r = await cli(['explain', 'test', ...INPUT]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `omit  test/__init__.py  tests (rules/tests.json "test/")\n        why: ${TESTS_REASON}\n`);
});

explainOne('test/ (a directory) lists every file in it, each omitted by rule tests', async () => {
  const r = await cli(['explain', 'test/', ...INPUT]);
  assert.is(r.code, 0, r.stderr);
  const omits = r.stdout.split('\n').filter((l) => l.startsWith('omit'));
  assert.equal(omits, ['omit  test/__init__.py  tests (rules/tests.json "test/")', 'omit  test/test_json.py  tests (rules/tests.json "test/")']);
});

explainOne('a kept module that cannot import says so, with the import chain (profile cpython)', async () => {
  const r = await cli(['explain', 'tty', '--profile', 'cpython', ...INPUT]);
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    'keep  tty.py  (no rule omits it)\n' +
      "        but it cannot be imported on the target: tty imports termios, an extension module the target lacks (termios is 'n/a' in the built-in description of a stock Emscripten build (rules/builds/emscripten-3.11.json))\n",
  );
});

explainOne('--provides declares a module the runtime has itself, so its importers pass the check', async () => {
  const r = await cli(['explain', 'tty', '--profile', 'cpython', '--provides', 'termios', ...INPUT]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'keep  tty.py  (no rule omits it)\n');
});

explainOne('an unknown module exits 1 and says it is not in this stdlib', async () => {
  const r = await cli(['explain', 'nosuchmodule', ...INPUT]);
  assert.is(r.code, 1);
  assert.is(r.stdout, 'nosuchmodule: not in this stdlib (no module or file by that name)\n');
});

explainOne.run();

// ---
const usage = suite('main: usage errors exit 2 with one message, no stack, and run nothing');

/** Flags that keep a wrongly started run small and inside ROOT. */
const SAFE = (name: string) => ['--lib', LIB, '--build-python', PY, '--out', path.join(ROOT, name), '--no-cache', '--package', 'false'];

usage('an unknown flag', async () => {
  const r = await cli(['pack', '--bogus', ...SAFE('out-usage-flag')]);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'error: Unknown argument: bogus\nRun pywasm-assets --help for usage.\n');
  assert.is(r.stdout, '', 'nothing ran');
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-usage-flag')), 'the pack ran despite the usage error');
});

usage('an unknown command', async () => {
  const r = await cli(['pakc', ...SAFE('out-usage-command')]);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'error: Unknown argument: pakc\nRun pywasm-assets --help for usage.\n');
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-usage-command')), 'the pack ran despite the usage error');
});

usage('explain without a query', async () => {
  const r = await cli(['explain', ...SAFE('out-usage-query')]);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'error: Not enough non-option arguments: got 0, need at least 1\nRun pywasm-assets --help for usage.\n');
  assert.is(r.stdout, '', 'nothing ran');
});

usage('a value outside the choices', async () => {
  const r = await cli(['pack', '--target', 'nope', ...SAFE('out-usage-choice')]);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('error: Invalid values:\n  Argument: target, Given: "nope"'), r.stderr);
  assert.not.ok(r.stderr.includes('    at '), 'no stack');
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-usage-choice')), 'the pack ran despite the usage error');
});

usage('a number flag given a word, or a single-value flag given twice', async () => {
  const word = await cli(['pack', '--level', 'x', ...SAFE('out-usage-nan')]);
  assert.is(word.code, 2);
  assert.is(word.stderr, 'error: --level takes an integer, got NaN\nRun pywasm-assets --help for usage.\n');
  const twice = await cli(['pack', '--jobs', '1', '--jobs', '2', ...SAFE('out-usage-twice')]);
  assert.is(twice.code, 2);
  assert.is(twice.stderr, 'error: --jobs was given more than once\nRun pywasm-assets --help for usage.\n');
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-usage-nan')) || nodeFs.existsSync(path.join(ROOT, 'out-usage-twice')), 'the pack ran despite the usage error');
});

usage('--help prints the usage through io.stdout and returns 0 (does not exit the process)', () => {
  // In a child: a main() that calls process.exit would end this test runner.
  const script = `
    const { main } = await import(${JSON.stringify(path.join(REPO, 'src', 'cli.ts'))});
    let out = '', err = '';
    const code = await main(['--help'], { stdout: { write: (s) => ((out += s), true) }, stderr: { write: (s) => ((err += s), true) } });
    process.stderr.write('\\n@@ ' + JSON.stringify({ code, out, err }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  const marker = run.stderr.lastIndexOf('\n@@ ');
  assert.ok(marker >= 0, `main() did not return (exit ${run.status}); stdout began: ${run.stdout.slice(0, 80)}`);
  const got = JSON.parse(run.stderr.slice(marker + 4)) as { code: number; out: string; err: string };
  assert.is(got.code, 0);
  assert.ok(got.out.startsWith('pywasm-assets <command> [options]'), got.out.slice(0, 200));
  assert.ok(got.out.includes('--explain'));
  assert.is(run.stdout, '', 'nothing bypassed io.stdout');
});

usage.run();

// ---
const failures = suite('main: a PackError prints `error ERR_...: message` and the hint on stderr, exit 1');

failures('no os.py (full wording)', async () => {
  const lib = writeTree(path.join(ROOT, 'NoOs'), { 'abc.py': '' });
  const r = await cli(['pack', '--lib', lib, '--build-python', PY, '--out', path.join(ROOT, 'out-noos'), '--no-cache']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(
    stable(r.stderr),
    'error ERR_NO_OS_PY: <tmp>/NoOs has no os.py, so it is not a Python stdlib (CPython finds its stdlib by os.py).\n' +
      '  hint: Point --lib at a CPython Lib/ or lib/python3.X directory.\n',
  );
});

failures('build interpreter not found (full wording)', async () => {
  const r = await cli(['pack', '--lib', LIB, '--build-python', '/nonexistent/python3', '--out', path.join(ROOT, 'out-nopy'), '--no-cache']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error ERR_PYTHON_NOT_FOUND: Build interpreter "/nonexistent/python3" was not found.\n  hint: pass --build-python <path to a CPython of the stdlib\'s version, e.g. python3.11>\n');
});

failures('output inside the stdlib (full wording)', async () => {
  const r = await cli(['pack', ...INPUT, '--out', path.join(LIB, 'dist')]);
  assert.is(r.code, 1);
  assert.is(
    stable(r.stderr),
    'error ERR_OUT_INSIDE_LIB: The output directory <tmp>/Lib/dist is inside the stdlib <tmp>/Lib; the outputs would be packed into the next run.\n' +
      '  hint: Pass --out <a directory outside the stdlib>.\n',
  );
  assert.not.ok(nodeFs.existsSync(path.join(LIB, 'dist')));
});

failures('syntax errors (full wording)', async () => {
  const lib = writeTree(path.join(ROOT, 'Bad'), { 'os.py': '', 'a.py': 'x = (\n', 'pkg/__init__.py': '', 'pkg/b.py': 'def f(:\n    pass\n' });
  const r = await cli(['pack', '--lib', lib, '--build-python', PY, '--out', path.join(ROOT, 'out-bad'), '--no-cache', '--jobs', '1']);
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    'error ERR_SYNTAX: 2 source files failed to compile:\n' +
      "  a.py:1: '(' was never closed\n" +
      '  pkg/b.py:1: invalid syntax\n' +
      '  hint: Fix the files, omit them with --omit, or pass --allow-syntax-errors to ship them as .py source.\n',
  );
  assert.not.ok(nodeFs.existsSync(path.join(ROOT, 'out-bad')));
});

failures.run();

// ---
const bin = suite('bin/pywasm-assets.js (spawned)');

bin('packs the small tree with exit 0, and fails a bad input with exit 1 and the error on stderr', () => {
  const shim = path.join(REPO, 'bin', 'pywasm-assets.js');
  assert.ok(nodeFs.existsSync(path.join(REPO, 'dist', 'cli.js')), 'dist/cli.js is missing: run `npm run build` first (npm test does)');
  const out = path.join(ROOT, 'out-bin');
  const ok = spawnSync(process.execPath, [shim, 'pack', ...INPUT, '--out', out, '--package', 'false'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.ok(ok.stdout.startsWith(`Created ${path.join(out, 'usr', 'local', 'lib', 'python311.zip')} (`), ok.stdout);
  assert.ok(nodeFs.statSync(path.join(out, 'usr', 'local', 'lib', 'python311.zip')).size > 0);
  const bad = spawnSync(process.execPath, [shim, 'pack', '--lib', path.join(ROOT, 'missing'), '--build-python', PY, '--out', path.join(ROOT, 'out-bin-bad')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is(bad.status, 1, bad.stderr);
  assert.ok(bad.stderr.startsWith('error ERR_LIB_NOT_FOUND: '), bad.stderr);
  assert.is(bad.stdout, '');
});

bin.run();
