import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LiteralError, parsePythonDictLiteral, type PyValue } from '../src/pipeline/build-facts/literal.js';
import { REPO, havePython, runPython, skip } from './helpers.js';

const NAME = 'build_time_vars';
const parse = (source: string | Uint8Array): Record<string, PyValue> => Object.fromEntries(parsePythonDictLiteral(source, NAME));
const bytesOf = (source: string | Uint8Array): Uint8Array => (typeof source === 'string' ? Buffer.from(source, 'utf8') : source);

/** What test/support/literal-oracle.py answers: CPython's own reading of a source (ast.parse, never run). */
type OracleAnswer =
  | { result: 'error'; error: string }
  | { result: 'code'; why: string }
  | { result: 'literal'; entries: [string, string | { int: string }][] };

const ORACLE = path.join(REPO, 'test/support/literal-oracle.py');

/** Asks CPython about every source in one python3 process. */
function oracle(sources: (string | Uint8Array)[]): OracleAnswer[] {
  const input = JSON.stringify(sources.map((s) => Buffer.from(bytesOf(s)).toString('base64')));
  const run = spawnSync('python3', ['-I', ORACLE], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.error) throw run.error;
  assert.is(run.status, 0, `the oracle failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as OracleAnswer[];
}

/** Our answer in the oracle's terms: entries in dict order, ints as { int } (str and int stay apart). */
type OurAnswer = { ok: true; entries: [string, string | { int: string }][] } | { ok: false; error: LiteralError };

function ours(source: string | Uint8Array): OurAnswer {
  try {
    const vars = parsePythonDictLiteral(source, NAME);
    return { ok: true, entries: [...vars].map(([k, v]) => [k, typeof v === 'number' ? { int: String(v) } : v]) };
  } catch (error) {
    if (!(error instanceof LiteralError)) throw error;
    return { ok: false, error };
  }
}

const asEntries = (vars: Record<string, PyValue>): [string, string | { int: string }][] =>
  Object.entries(vars).map(([k, v]) => [k, typeof v === 'number' ? { int: String(v) } : v]);

/** The sysconfigdata of a real Emscripten CPython 3.11 build (Pyodide 0.25.1 ships it in its stdlib zip). */
function pyodideSysconfigdata(): Uint8Array {
  const zip = nodeFs.readFileSync(path.join(REPO, 'node_modules/pyodide/python_stdlib.zip'));
  const name = '_sysconfigdata__emscripten_wasm32-emscripten.py';
  const files = unzipSync(zip, { filter: (f) => f.name === name });
  assert.ok(files[name], `${name} is not in pyodide's python_stdlib.zip`);
  return files[name];
}

/**
 * The sysconfigdata modules of the build-root fixtures, one per distinct
 * content: test/fixtures/builds/<case>/build/<lib dir>/_sysconfigdata_*.py.
 * Only real files (a fixture rendered from a build description has none).
 */
function sysconfigdataFixtures(): { name: string; bytes: Buffer }[] {
  const root = path.join(REPO, 'test/fixtures/builds');
  const out: { name: string; bytes: Buffer }[] = [];
  for (const build of nodeFs.readdirSync(root).sort()) {
    const libs = path.join(root, build, 'build');
    if (!nodeFs.existsSync(libs) || !nodeFs.statSync(libs).isDirectory()) continue;
    for (const lib of nodeFs.readdirSync(libs).sort()) {
      const dir = path.join(libs, lib);
      if (!nodeFs.statSync(dir).isDirectory()) continue;
      for (const file of nodeFs.readdirSync(dir).sort()) {
        const full = path.join(dir, file);
        if (!/^_sysconfigdata_.*\.py$/.test(file) || !nodeFs.statSync(full).isFile()) continue;
        const bytes = nodeFs.readFileSync(full);
        if (!out.some((f) => f.bytes.equals(bytes))) out.push({ name: `${build}/${file}`, bytes });
      }
    }
  }
  return out;
}

// ---
const real = suite('parsePythonDictLiteral: real sysconfigdata modules');

real('parses Pyodide 0.25.1 sysconfigdata to exactly what CPython reads', () => {
  const source = pyodideSysconfigdata();
  const vars = parsePythonDictLiteral(source, NAME);
  assert.ok(vars.size > 900, `only ${vars.size} variables`);
  assert.is(vars.get('MODULE__SSL_STATE'), 'missing');
  assert.is(vars.get('MACHDEP'), 'emscripten');
  if (!havePython()) return skip('no python3 to compare with');
  const [answer] = oracle([source]);
  assert.equal(ours(source), { ok: true, entries: answer.result === 'literal' ? answer.entries : [] });
});

real('parses every build-root fixture (3.11 pprint, 3.13 _print_config_dict, WASI) to exactly what CPython reads', () => {
  const files = sysconfigdataFixtures();
  assert.ok(files.length >= 3, `only ${files.length} sysconfigdata fixtures`);
  assert.ok(files.some((f) => f.name.includes('3.13')), 'no 3.13 sysconfigdata fixture');
  for (const f of files) assert.ok(parsePythonDictLiteral(f.bytes, NAME).size > 80, f.name);
  if (!havePython()) return skip('no python3 to compare with');
  const answers = oracle(files.map((f) => f.bytes));
  files.forEach((f, i) => {
    assert.is(answers[i].result, 'literal', f.name);
    assert.equal(ours(f.bytes), { ok: true, entries: (answers[i] as { entries: unknown }).entries }, f.name);
  });
});

real('keeps the insertion order of the keys', () => {
  const keys = [...parsePythonDictLiteral(pyodideSysconfigdata(), NAME).keys()];
  assert.equal(keys.slice(0, 3), ['ABIFLAGS', 'AC_APPLE_UNIVERSAL_BUILD', 'AIX_BUILDDATE']);
});

real.run();

// ---
const accepts = suite('parsePythonDictLiteral: accepted literals');

/** Accepted sources and the values CPython gives them (checked against the oracle below). */
const ACCEPTED: { name: string; source: string | Uint8Array; expect: Record<string, PyValue> }[] = [
  { name: 'an empty dict', source: 'build_time_vars = {}', expect: {} },
  {
    name: 'ints, negative ints (sysconfig writes int("-1") as -1), zero, underscores',
    source: "build_time_vars = {'A': 0, 'B': 42, 'C': -7, 'D': - \\\n 3, 'E': 1_000, 'F': 00}",
    expect: { A: 0, B: 42, C: -7, D: -3, E: 1000, F: 0 },
  },
  { name: 'single- and double-quoted strings', source: `build_time_vars = {'a': "it's", "b": 'say "hi"'}`, expect: { a: "it's", b: 'say "hi"' } },
  {
    name: 'adjacent strings concatenated, across lines (pprint wraps long values this way)',
    source: "build_time_vars = {'CFLAGS': '-O2 '\n           '-g '   \"-Wall\"\n 'x'}",
    expect: { CFLAGS: '-O2 -g -Wallx' },
  },
  {
    name: 'escapes: quotes, backslash, \\n \\t, hex, octal, \\u, \\U, line continuation',
    source: String.raw`build_time_vars = {'e': 'a\'b\"c\\d\ne\tf\x41\101\u00e9\U0001F600g\
h'}`,
    expect: { e: 'a\'b"c\\d\ne\tfAAé😀gh' },
  },
  { name: 'unknown escapes kept as written', source: String.raw`build_time_vars = {'re': '\d+\.\w\é'}`, expect: { re: '\\d+\\.\\w\\é' } },
  { name: 'octal escapes up to \\777 and surrogate escapes (sysconfig writes \\udcXX for undecodable Makefile bytes)', source: String.raw`build_time_vars = {'o': '\777\0\udcff'}`, expect: { o: '\u01ff\0\udcff' } },
  { name: 'raw strings keep backslashes', source: String.raw`build_time_vars = {'r': r'C:\new\'x', 'R': R"\d"}`, expect: { r: "C:\\new\\'x", R: '\\d' } },
  { name: 'u-prefixed strings', source: "build_time_vars = {u'u': U'x'}", expect: { u: 'x' } },
  { name: 'triple-quoted strings with newlines', source: "build_time_vars = {'t': '''one\ntwo''', 'q': \"\"\"a''b\"\"\"}", expect: { t: 'one\ntwo', q: "a''b" } },
  {
    name: 'comments, blank lines and a trailing comma',
    source: "# system configuration generated and used by the sysconfig module\n\nbuild_time_vars = {  # start\n 'A': 1,  # one\n\n 'B': 'x',\n}\n# end\n",
    expect: { A: 1, B: 'x' },
  },
  { name: 'a repeated key: the last value wins, as in Python', source: "build_time_vars = {'A': 1, 'B': 2, 'A': 3}", expect: { A: 3, B: 2 } },
  { name: 'non-ASCII text', source: "build_time_vars = {'PREFIX': '/ユーザー/py'}", expect: { PREFIX: '/ユーザー/py' } },
  {
    name: '\\r\\n line endings, inside a triple-quoted string too (CPython reads them as \\n)',
    source: "# c\r\nbuild_time_vars = {'A': 1,\r\n 'B': '''x\r\ny'''}\r\n",
    expect: { A: 1, B: 'x\ny' },
  },
  {
    name: 'lone \\r line endings: they end comments and lines',
    source: "build_time_vars = {'A': 'a'\r 'b',\r # 'B': 2,\r 'C': '''p\rq'''}\r",
    expect: { A: 'ab', C: 'p\nq' },
  },
  {
    name: 'backslash continuations before \\r\\n or \\r, in the statement and inside strings',
    source: "build_time_vars = \\\r\n{'A': 'x\\\ry', 'B': r'p\\\rq', 'C': 'm\\\r\nn'} \\\r# c\r",
    expect: { A: 'xy', B: 'p\\\nq', C: 'mn' },
  },
  { name: 'tabs and form feeds between tokens', source: "build_time_vars\t=\f{\f'A':\t1}\f# c\n\f\n \t\n", expect: { A: 1 } },
  { name: 'a BOM and a UTF-8 coding cookie', source: "\uFEFF# -*- coding: utf-8 -*-\nbuild_time_vars = {'A': 'é'}", expect: { A: 'é' } },
  { name: 'a coding cookie spelled utf_8 on line 2', source: "#!/usr/bin/env python3\n# vim: set fileencoding=UTF_8 :\nbuild_time_vars = {'A': 1}", expect: { A: 1 } },
  { name: 'a comment after the dict, then blank and comment lines', source: "build_time_vars = {'A': 1}  # end\n   \n\t# more\n\n", expect: { A: 1 } },
  { name: 'a continuation after the dict, then a comment', source: "build_time_vars = {'A': 1} \\\n  # c\n", expect: { A: 1 } },
];

for (const { name, source, expect } of ACCEPTED) {
  accepts(`parses ${name}`, () => {
    assert.equal(parse(source), expect);
  });
}

accepts('agrees with CPython on every accepted case, values and order (python3)', () => {
  if (!havePython()) return skip('no python3 to compare with');
  const answers = oracle(ACCEPTED.map((c) => c.source));
  ACCEPTED.forEach((c, i) => {
    assert.equal(answers[i], { result: 'literal', entries: asEntries(parse(c.source)) }, c.name);
    assert.equal(ours(c.source), { ok: true, entries: asEntries(c.expect) }, c.name);
  });
});

accepts('reads the same from bytes and from a string', () => {
  const source = "build_time_vars = {'A': 'é', 'B': -1}\r\n";
  assert.equal(Object.fromEntries(parsePythonDictLiteral(Buffer.from(source), NAME)), parse(source));
});

accepts('parses under another variable name', () => {
  assert.equal(Object.fromEntries(parsePythonDictLiteral("other = {'A': 1}", 'other')), { A: 1 });
});

accepts.run();

// ---
const rejects = suite('parsePythonDictLiteral: rejects what is not a plain literal');

/** Sources that are code or not Python, and where the reader must point. */
const REJECTED: { name: string; source: string | Uint8Array; message: RegExp }[] = [
  { name: 'a call instead of the dict', source: 'build_time_vars = dict(a=1)', message: /expected "\{" at line 1, column 19, found "dict\(a=1\)"/ },
  { name: 'a call as a value', source: "build_time_vars = {'a': dict(a=1)}", message: /expected a string or an int at line 1, column 25, found "dict\(a=1\)\}"/ },
  { name: 'a name as a value', source: "build_time_vars = {'a': os}", message: /expected a string or an int at line 1, column 25, found "os\}"/ },
  { name: 'True, False or None (sysconfig writes str and int only)', source: "build_time_vars = {'a': True}", message: /expected a string or an int at line 1, column 25, found "True\}"/ },
  { name: 'a float', source: "build_time_vars = {'a': 1.5}", message: /a float or complex number \(values must be str or int\) at line 1, column 25, found "1\.5\}"/ },
  { name: 'a unary plus', source: "build_time_vars = {'a': +3}", message: /expected a string or an int at line 1, column 25, found "\+3\}"/ },
  { name: 'a double minus', source: "build_time_vars = {'a': --3}", message: /expected an int after "-" at line 1, column 25/ },
  { name: 'an expression as a value', source: "build_time_vars = {'a': 1 + 2}", message: /expected "," or "\}" at line 1, column 27/ },
  { name: 'a second statement after ";"', source: "build_time_vars = {'a': 1}; import os", message: /unexpected code after the dict at line 1, column 27, found "; import os"/ },
  { name: 'a second statement on a new line', source: "build_time_vars = {'a': 1}\nimport os\n", message: /unexpected code after the dict at line 2, column 1, found "import os"/ },
  { name: 'a statement before the assignment', source: "import os\nbuild_time_vars = {'a': 1}", message: /expected "build_time_vars" at line 1, column 1, found "import os"/ },
  { name: 'another variable name', source: "other_vars = {'a': 1}", message: /expected "build_time_vars" at line 1, column 1/ },
  { name: 'a longer name that starts with the expected one', source: "build_time_vars_x = {'a': 1}", message: /expected "build_time_vars" at line 1, column 1, found "build_time_vars_x = "/ },
  { name: 'an indented statement', source: "  build_time_vars = {}", message: /whitespace before "build_time_vars" \(an indented statement\) at line 1, column 3/ },
  { name: 'a comment between the name and "="', source: 'build_time_vars # c\n= {}', message: /expected "=" at line 1, column 17, found "# c"/ },
  { name: 'a line break between the name and "="', source: 'build_time_vars\n= {}', message: /expected "=" at line 1, column 16, found end of line/ },
  { name: 'an annotated assignment', source: 'build_time_vars: dict = {}', message: /expected "=" at line 1, column 16/ },
  { name: 'a chained assignment', source: 'build_time_vars = x = {}', message: /expected "\{" at line 1, column 19, found "x = \{\}"/ },
  { name: 'a comparison', source: 'build_time_vars == {}', message: /expected "=" at line 1, column 17/ },
  { name: 'a non-string key', source: 'build_time_vars = {1: 2}', message: /expected a string key at line 1, column 20/ },
  { name: 'a set', source: "build_time_vars = {'a'}", message: /expected ":" at line 1, column 23/ },
  { name: 'a list value', source: "build_time_vars = {'a': [1]}", message: /expected a string or an int at line 1, column 25/ },
  { name: 'a bytes value', source: "build_time_vars = {'a': b'x'}", message: /a bytes literal \(values must be str or int\) at line 1, column 25/ },
  { name: 'bytes after a str', source: "build_time_vars = {'a': 'x' rb'y'}", message: /a bytes literal .* at line 1, column 29/ },
  { name: 'an f-string value', source: "build_time_vars = {'a': f'{x}'}", message: /an f-string .* at line 1, column 25/ },
  { name: 'a missing comma', source: "build_time_vars = {'a': 1 'b': 2}", message: /expected "," or "\}" at line 1, column 27/ },
  { name: 'an empty entry', source: "build_time_vars = {'a': 1,, 'b': 2}", message: /expected a string key at line 1, column 27/ },
  { name: 'an unterminated string (pointing at its quote)', source: "build_time_vars = {\n 'a': 'abc", message: /unterminated string at line 2, column 7/ },
  { name: 'a newline inside a single-quoted string', source: "build_time_vars = {'a': 'ab\ncd'}", message: /unterminated string at line 1, column 25/ },
  { name: 'a lone \\r inside a single-quoted string (a line break to CPython)', source: "build_time_vars = {'a': 'ab\rcd'}", message: /unterminated string at line 1, column 25/ },
  { name: 'an unterminated dict', source: "build_time_vars = {'a': 1,", message: /expected a string key at line 1, column 27, found end of file/ },
  { name: 'a bad \\x escape', source: "build_time_vars = {'a': '\\xZZ'}", message: /a truncated \\x escape at line 1, column 26/ },
  { name: 'a \\U escape beyond U+10FFFF', source: "build_time_vars = {'a': '\\U00110000'}", message: /an illegal Unicode character \\U00110000 at line 1, column 26/ },
  { name: 'an int with leading zeros', source: "build_time_vars = {'a': 01}", message: /an invalid number at line 1, column 25/ },
  { name: 'a "\\" not followed by a line break', source: "build_time_vars = {'a': \\ 1}", message: /a "\\" not followed by a line break at line 1, column 25/ },
  { name: 'a "\\" continuation at the end of the file', source: "build_time_vars = {'a': 1}\\\n", message: /end of file after a "\\" continuation at line 1, column 27/ },
  { name: 'a vertical tab between tokens', source: "build_time_vars = {'a':\v1}", message: /expected a string or an int at line 1, column 24, found "\\u000b1\}"/ },
  { name: 'a no-break space between tokens', source: "build_time_vars = {'a':\u00a01}", message: /expected a string or an int at line 1, column 24/ },
  { name: 'a second BOM', source: "\uFEFF\uFEFFbuild_time_vars = {}", message: /expected "build_time_vars" at line 1, column 1/ },
  { name: 'a null byte in a comment', source: "build_time_vars = {} # a\0b", message: /a null byte at line 1, column 25/ },
  { name: 'an empty file', source: '', message: /expected "build_time_vars" at line 1, column 1, found end of file/ },
];

for (const { name, source, message } of REJECTED) {
  rejects(`rejects ${name}, naming the line and column`, () => {
    const got = ours(source);
    if (got.ok) return assert.unreachable(`accepted: ${JSON.stringify(source)}`);
    assert.match(got.error.message, message);
    assert.is(got.error.kind, 'invalid');
  });
}

rejects('CPython finds no plain literal in any rejected case (python3)', () => {
  if (!havePython()) return skip('no python3 to compare with');
  const answers = oracle(REJECTED.map((c) => c.source));
  REJECTED.forEach((c, i) => assert.is.not(answers[i].result, 'literal', c.name));
});

rejects('never runs code: __import__ as a value, as a statement, or as the whole file', () => {
  const marker = path.join(os.tmpdir(), `pywasm-assets-pyliteral-${process.pid}-${Date.now()}`);
  const call = `__import__('os').system('touch ${marker}')`;
  const sources = [
    `build_time_vars = {'a': ${call}}`,
    `build_time_vars = {'a': 1}; ${call}`,
    `build_time_vars = {'a': 1}\n${call}\n`,
    `build_time_vars = ${call}`,
    call,
  ];
  for (const source of sources) {
    assert.throws(() => parsePythonDictLiteral(source, NAME), (e: unknown) => e instanceof LiteralError && /line \d+, column \d+/.test((e as Error).message));
  }
  assert.is(nodeFs.existsSync(marker), false, 'the command ran');
  // The check above can fail: Python itself does run the same text.
  if (!havePython()) return skip('no python3 to prove the payload works');
  runPython(`exec(${JSON.stringify(sources[1])})`);
  assert.is(nodeFs.existsSync(marker), true, 'the payload is not effective, so the test proves nothing');
  nodeFs.rmSync(marker, { force: true });
});

rejects.run();

// ---
const lineEndings = suite('parsePythonDictLiteral: line endings CPython sees (issue 13, item 2)');

/**
 * Code hidden from a reader that ends comments at "\n" only: CPython ends
 * them at "\r" too, so each payload is a statement (or a value) to CPython.
 */
const HIDDEN = (call: string): { name: string; source: string }[] => [
  { name: 'the reported one: "# note\\r" then code, after the dict', source: `build_time_vars = {'A': 1}\n# note\r${call}\n` },
  { name: '"# note\\r" then code, before the dict', source: `# note\r${call}\nbuild_time_vars = {'A': 1}\n` },
  { name: 'a comment ending in "\\r" inside the dict, then code as a value', source: `build_time_vars = {'A': 1,  # note\r 'B': ${call},\n}\n` },
  { name: 'a comment ending in "\\r" after a key', source: `build_time_vars = {'A':  # note\r ${call}}\n` },
  { name: 'a comment ending in "\\" and "\\r"', source: `build_time_vars = {'A': 1}  # note \\\r${call}\n` },
  { name: 'a "\\" "\\r" continuation joining ";" and code to the statement', source: `build_time_vars = {'A': 1} \\\r;${call}\n` },
  { name: 'a form feed around the "\\r" and before the code', source: `build_time_vars = {'A': 1}\n# note\x0c\r\x0c${call}\n` },
  { name: '"\\r\\n" ending the comment', source: `build_time_vars = {'A': 1}\n# note\r\n${call}\n` },
];

lineEndings('refuses code hidden behind a "\\r" (and variants), where CPython sees code', () => {
  const cases = HIDDEN("__import__('os').system('true')");
  for (const { name, source } of cases) {
    const got = ours(source);
    if (got.ok) return assert.unreachable(`accepted ${name}: ${JSON.stringify(source)}`);
    assert.is(got.error.kind, 'invalid', name);
    assert.match(got.error.message, /at line \d+, column \d+/, name);
  }
  if (!havePython()) return skip('no python3 to compare with');
  const answers = oracle(cases.map((c) => c.source));
  cases.forEach((c, i) => assert.is(answers[i].result, 'code', `CPython should parse ${c.name} as code: ${JSON.stringify(answers[i])}`));
});

lineEndings('the reported payload does run under CPython (so refusing it matters)', () => {
  if (!havePython()) return skip('no python3 to prove the payload works');
  const marker = path.join(os.tmpdir(), `pywasm-assets-pyliteral-cr-${process.pid}-${Date.now()}`);
  const [reported] = HIDDEN(`__import__('os').system('touch ${marker}')`);
  assert.throws(() => parsePythonDictLiteral(reported.source, NAME), (e: unknown) => e instanceof LiteralError);
  assert.is(nodeFs.existsSync(marker), false, 'the command ran');
  // What importing the module would do: compile() of its bytes, then run.
  runPython('import sys; exec(compile(sys.stdin.buffer.read(), "_sysconfigdata_x.py", "exec"), {})', [], Buffer.from(reported.source));
  assert.is(nodeFs.existsSync(marker), true, 'the payload did not run under CPython, so the test proves nothing');
  nodeFs.rmSync(marker, { force: true });
});

lineEndings.run();

// ---
const unsupported = suite('parsePythonDictLiteral: plain literals refused on purpose');

/**
 * CPython reads each of these as a plain dict of str and int, but sysconfig
 * never writes them: refused with kind "unsupported" rather than read in a way
 * that might differ from CPython's (the fuzz below allows exactly these).
 */
const UNSUPPORTED: { name: string; source: string | Uint8Array; message: RegExp }[] = [
  { name: 'a ";" ending the statement', source: "build_time_vars = {'A': 1};  # c\n", message: /a ";" after the dict at line 1, column 27/ },
  { name: 'parentheses around the dict', source: "build_time_vars = ({'A': 1})", message: /a parenthesis \(sysconfig writes none\) at line 1, column 19/ },
  { name: 'parentheses around a value', source: "build_time_vars = {'A': ('x' 'y')}", message: /a parenthesis .* at line 1, column 25/ },
  { name: 'parentheses after a minus', source: "build_time_vars = {'A': -(1)}", message: /a parenthesis .* at line 1, column 26/ },
  { name: 'parentheses around a key', source: "build_time_vars = {('A'): 1}", message: /a parenthesis .* at line 1, column 20/ },
  { name: 'parentheses around the name', source: "(build_time_vars) = {'A': 1}", message: /a parenthesis .* at line 1, column 1/ },
  { name: 'a hex int', source: "build_time_vars = {'A': 0x10}", message: /a hex, octal or binary int at line 1, column 25/ },
  { name: 'an int beyond 2**53', source: "build_time_vars = {'A': 9007199254740993}", message: /an int beyond ±2\*\*53 at line 1, column 25/ },
  { name: 'a \\N{...} escape', source: "build_time_vars = {'A': '\\N{EM DASH}'}", message: /a \\N\{\.\.\.\} escape at line 1, column 26/ },
  { name: 'a latin-1 coding cookie on line 2 after a "\\r" (CPython decodes the rest as latin-1)', source: Buffer.from("# c\r# coding: latin-1\rbuild_time_vars = {'A': '\xe9'}", 'latin1'), message: /a coding cookie for "latin-1" \(only UTF-8 is read\) at line 2, column 3/ },
  { name: 'whitespace ending in a form feed before the name (CPython resets the column)', source: " \fbuild_time_vars = {'A': 1}", message: /whitespace before "build_time_vars" .* at line 1, column 3/ },
  { name: 'a "\\" line before the name', source: "\\\nbuild_time_vars = {'A': 1}", message: /a "\\" before "build_time_vars" at line 1, column 1/ },
  { name: 'a "\\" line joined to an empty one after the dict', source: "build_time_vars = {'A': 1}\n\\\n\n", message: /unexpected code after the dict at line 2, column 1/ },
  { name: 'the name in fullwidth letters (CPython folds names with NFKC)', source: "ｂuild_time_vars = {'A': 1}", message: /expected "build_time_vars" at line 1, column 1/ },
  { name: 'a "\\" continuation on the last line, ending in \\r\\n (3.11 adds a line break there, 3.12+ do not)', source: "build_time_vars = {'A': 1} \\\r\n", message: /end of file after a "\\" continuation at line 1, column 28/ },
  { name: 'bytes that are not UTF-8 in a comment (CPython 3.11 skips them)', source: Buffer.from("# \xff\nbuild_time_vars = {'A': 1}", 'latin1'), message: /invalid UTF-8 \(byte 0xff\) at line 1, column 3/ },
];

for (const { name, source, message } of UNSUPPORTED) {
  unsupported(`refuses ${name}`, () => {
    const got = ours(source);
    if (got.ok) return assert.unreachable(`accepted: ${JSON.stringify(source)}`);
    assert.match(got.error.message, message);
    assert.is(got.error.kind, 'unsupported');
  });
}

unsupported('CPython does read each of them as a plain literal (python3)', () => {
  if (!havePython()) return skip('no python3 to compare with');
  const answers = oracle(UNSUPPORTED.map((c) => c.source));
  UNSUPPORTED.forEach((c, i) => assert.is(answers[i].result, 'literal', `${c.name}: ${JSON.stringify(answers[i])}`));
});

unsupported('refuses bytes that are not UTF-8 in a value, which a decoded string would turn into U+FFFD', () => {
  const source = Buffer.from("build_time_vars = {'A': 'caf\xe9'}", 'latin1');
  const got = ours(source);
  if (got.ok) return assert.unreachable('accepted latin-1 bytes');
  assert.match(got.error.message, /invalid UTF-8 \(byte 0xe9\) at line 1, column 29/);
  // An encoded surrogate and an overlong form are not UTF-8 to CPython either.
  for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
    const bytes = Buffer.concat([Buffer.from("build_time_vars = {'A': '"), Buffer.from(bad), Buffer.from("'}")]);
    assert.throws(() => parsePythonDictLiteral(bytes, NAME), /invalid UTF-8/);
  }
});

unsupported.run();

// ---
const fuzz = suite('parsePythonDictLiteral: differential fuzz against CPython');

/** mulberry32: a small seeded PRNG, so every run draws the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Fixed, so every run draws the same cases; PYLITERAL_FUZZ_SEED and
// PYLITERAL_FUZZ_SCALE explore others by hand.
const SEED = Number(process.env.PYLITERAL_FUZZ_SEED ?? 13);
const SCALE = Number(process.env.PYLITERAL_FUZZ_SCALE ?? 1);
const CASES_FROM_FILES = 2400 * SCALE;
const CASES_SYNTHETIC = 1600 * SCALE;

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
/** Bytes worth inserting: line endings, continuations, quotes, operators, digits, prefixes, escapes, odd whitespace, bad UTF-8. */
const TOKENS: Buffer[] = [
  ...['\r', '\n', '\r\n', '\\', '\\\r', '\\\n', '\\\r\n', '#', '# x\r', '# x\\\r', "'", '"', "'''", '"""', ';', ':', '(', ')', '[', ']', '{', '}', '=', ',', '-', '+', '.', '_'].map(b),
  ...[' ', '\t', '\x0c', '\x0b', '\x00', '\x1a', '0', '1', '7', '9', '00', 'x', 'o', 'e', 'j', 'r', 'u', 'b', 'f', 'N', 'U', 'a', 'Z', 'R', 'rb'].map(b),
  ...['\\x41', '\\x4', '\\u00e9', '\\ud800', '\\N{EM DASH}', '\\777', '\\0', '\\8', '\\U0001F600', '\\U00110000', "\\'", '\\\\'].map(b),
  ...['é', '\u00a0', '\u2028', '\ufeff', '😀', 'ｂ', '__import__("os")', 'True', 'None', '0x1F', '1_000', '1.5', '-1', '# coding: latin-1\n', '# coding=utf-8\r'].map(b),
  Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xe9]),
];
/** Values for new entries, valid and not. */
const VALUES = [
  '1', '-1', '- 1', '-\\\n1', '-\\\r1', '0', '00', '0_0', '1_0', '10_000', '01', '1_', '--1', '+1', '-(1)', '(1)', '9007199254740991', '-9007199254740991', '9007199254740992',
  "'v'", '"v"', "'''a\nb'''", "'''a\rb'''", '"""a\r\nb"""', "r'\\d'", "'\\d'", "'\\\\'", "'\\''", "'a' 'b'", "'a'\n'b'", "'a' # c\r 'b'", "'a'\\\r'b'", "'\\777'",
  "'\\u00e9'", "'\\U0001F600'", "'\\ud800'", "'é'", "'😀'", "'\\x00'", "'x\\\ry'", "r'x\\\ry'", "u'x'", "R'x'", "U'x'",
  'True', 'None', '1.0', '1e3', '1j', '.5', '0x1', '0o7', '0b1', "b'x'", "f'x'", "rb'x'", "fr'x'", "ur'x'", "'\\N{EM DASH}'", "'\\x4'", "'\\U00110000'",
  'x', '[1]', '{}', "('a',)", '1 if 1 else 2', "__import__('os')", "'a' b'x'", "'a'.upper()", '1 .real', "'a' * 2",
];
const KEYS = ["'K'", '"K"', "r'K'", "u'K'", "'K' 'L'", "'''K'''", "'\\x4b'", "'é'", "'K\\\nL'", "'K\\\r\nL'", '1', "b'K'", "('K')", "f'K'", "'ABIFLAGS'", "'MACHDEP'"];
/** Code or odd endings after the dict. */
const TRAILERS = [
  '', '\n', '\r\n', '\r', '\x0c\n', ' # end', '\n# end\n', ';', ';\n', '; # c\r', '; x = 1', '\n\\\n\n', '\n\\\n', '\nx\n', '\\\n', ' \\\r\n', '\n  \n\t\n',
  "\n# note\r__import__('os').system('true')\n", "\n# note\r\n__import__('os')\n", "\n# note\x0c\r\x0c__import__('os')\n", "# c \\\r__import__('os')\n",
  ' \\\r;__import__("os")\n', '\nif 1: pass\n', '\nbuild_time_vars = {}\n', '[0]', '.update(a=1)', ' if 1 else 2', '\n\x00', '\n# \xff\n',
];
/** Lines before the statement. */
const HEADERS = [
  '', '# system configuration generated and used by the sysconfig module\n', '\n\n', '# c\r', '# c\r\n', '\x0c\n', ' \n', '\t# c\n', '\ufeff', '\ufeff\ufeff',
  '# -*- coding: utf-8 -*-\n', '# coding: latin-1\n', '#!/x\r# coding=utf_8\r', '#!/x\n# coding=latin-1\n', 'x = 1\n', 'import os\n', "# note\r__import__('os')\n",
  '\\\n', ' ', '\x0c', ' \x0c', '\x0c ', '\t',
];
/** Separators between tokens (inside the dict unless marked). */
const SEPS = ['', ' ', '  ', '\t', '\x0c', '\n', '\r', '\r\n', ' # c\n', ' # c\r', '#c\r\n', '\\\n', '\\\r', '\\\r\n', '  #x\\\r', '\n\n', '\x0b', '\u00a0'];
const TOP_SEPS = [' ', ' ', ' ', '', '\t', '\x0c', '\\\n', ' \\\r ', '\\\r\n', '\n', '#c\n', '\r'];

interface FuzzCase {
  what: string;
  bytes: Buffer;
}

/** Excerpts of a big sysconfigdata: its head, a run of whole entries, and "}" (every line boundary of both writers allows that). */
function excerpt(text: string, rand: () => number): string {
  const open = text.indexOf('{') + 1;
  const lines = text.slice(open, text.lastIndexOf('}')).split('\n');
  const starts = lines.map((_, i) => i).filter((i) => i === 0 || lines[i - 1].trimEnd().endsWith(','));
  const from = starts[Math.floor(rand() * starts.length)];
  const to = Math.min(lines.length, from + 3 + Math.floor(rand() * 40));
  return `${text.slice(0, open)}\n${lines.slice(from, to).join('\n')}\n}\n`;
}

/** A random position, half the time next to a byte where tokens meet. */
function position(bytes: Buffer, rand: () => number): number {
  const at = Math.floor(rand() * (bytes.length + 1));
  if (rand() < 0.5) return at;
  for (let i = at; i < bytes.length; i++) {
    if ("\n'\",:{}#\\=-".includes(String.fromCharCode(bytes[i]))) return i + Math.floor(rand() * 2);
  }
  return at;
}

function mutate(input: Buffer, rand: () => number): { bytes: Buffer; what: string } {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
  let bytes = input;
  const what: string[] = [];
  const ops = 1 + Math.floor(rand() * 3);
  for (let n = 0; n < ops; n++) {
    const op = Math.floor(rand() * 12);
    const at = position(bytes, rand);
    if (op <= 2) {
      const token = pick(TOKENS);
      bytes = Buffer.concat([bytes.subarray(0, at), token, bytes.subarray(at)]);
      what.push(`insert ${JSON.stringify(token.toString('latin1'))} at ${at}`);
    } else if (op <= 4) {
      const len = 1 + Math.floor(rand() * 6);
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + len)]);
      what.push(`delete ${len} at ${at}`);
    } else if (op <= 6) {
      const token = pick(TOKENS);
      bytes = Buffer.concat([bytes.subarray(0, at), token, bytes.subarray(at + 1)]);
      what.push(`replace 1 at ${at} with ${JSON.stringify(token.toString('latin1'))}`);
    } else if (op === 7) {
      const trailer = pick(TRAILERS);
      bytes = Buffer.concat([bytes, Buffer.from(trailer, 'latin1')]);
      what.push(`append ${JSON.stringify(trailer)}`);
    } else if (op === 8) {
      const header = pick(HEADERS);
      bytes = Buffer.concat([b(header), bytes]);
      what.push(`prepend ${JSON.stringify(header)}`);
    } else if (op === 9) {
      const text = bytes.toString('latin1');
      const open = text.indexOf('= {');
      const close = text.lastIndexOf('}');
      if (open < 0 || close < open) continue;
      bytes = Buffer.from(`${text.slice(0, open)}= (${text.slice(open + 2, close + 1)})${text.slice(close + 1)}`, 'latin1');
      what.push('wrap the dict in parentheses');
    } else if (op === 10) {
      const ending = pick(['\r\n', '\r', '\x0c\r']);
      bytes = Buffer.from(bytes.toString('latin1').replace(/\n/g, ending), 'latin1');
      what.push(`every \\n to ${JSON.stringify(ending)}`);
    } else {
      const text = bytes.toString('latin1');
      const open = text.indexOf('{');
      if (open < 0) continue;
      const entry = `${pick(KEYS)}${pick(SEPS)}:${pick(SEPS)}${pick(VALUES)},${pick(SEPS)}`;
      bytes = Buffer.concat([bytes.subarray(0, open + 1), b(entry), bytes.subarray(open + 1)]);
      what.push(`add entry ${JSON.stringify(entry)}`);
    }
  }
  return { bytes, what: what.join('; ') };
}

/** A small module from the pieces above: the grammar's exotic corners, valid and not. */
function synthetic(rand: () => number): string {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
  const sep = (): string => (rand() < 0.6 ? pick([' ', '']) : pick(SEPS));
  const topSep = (): string => (rand() < 0.7 ? ' ' : pick(TOP_SEPS));
  const entries: string[] = [];
  const count = Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) {
    const key = rand() < 0.7 ? `'K${i % 3}'` : pick(KEYS);
    const value = rand() < 0.3 ? pick(["'v'", '1', '-2', "'a' 'b'"]) : pick(VALUES);
    entries.push(`${sep()}${key}${sep()}:${sep()}${value}${sep()}`);
  }
  const trailingComma = entries.length && rand() < 0.3 ? `,${sep()}` : '';
  const header = rand() < 0.6 ? '' : pick(HEADERS);
  const trailer = rand() < 0.5 ? pick(['', '\n']) : pick(TRAILERS);
  return `${header}build_time_vars${topSep()}=${topSep()}{${entries.join(',')}${trailingComma}}${trailer}`;
}

function fuzzCases(): { cases: FuzzCase[]; files: string[] } {
  const rand = prng(SEED);
  const files = sysconfigdataFixtures();
  const cases: FuzzCase[] = files.map((f) => ({ what: `${f.name} as is`, bytes: f.bytes }));
  for (let i = 0; i < CASES_FROM_FILES; i++) {
    const f = files[i % files.length];
    // Whole files of a few kB as they are; the 40 kB ones mostly as excerpts (CPython's parse time is the cost).
    const whole = f.bytes.length < 8000 || i % 50 === 0;
    const base = whole ? f.bytes : Buffer.from(excerpt(f.bytes.toString('latin1'), rand), 'latin1');
    const { bytes, what } = mutate(base, rand);
    cases.push({ what: `${f.name}${whole ? '' : ' (excerpt)'}: ${what}`, bytes });
  }
  for (let i = 0; i < CASES_SYNTHETIC; i++) {
    const source = b(synthetic(rand));
    if (rand() < 0.3) {
      const { bytes, what } = mutate(source, rand);
      cases.push({ what: `synthetic, then ${what}`, bytes });
    } else cases.push({ what: 'synthetic', bytes: source });
  }
  return { cases, files: files.map((f) => f.name) };
}

fuzz('accepts exactly what CPython reads as a plain literal, with the same values; refuses only code, non-Python, or on purpose', () => {
  if (!havePython()) return skip('no python3 to compare with');
  const started = Date.now();
  const { cases, files } = fuzzCases();
  const answers = oracle(cases.map((c) => c.bytes));
  const counts = { both: 0, neither: 0, onPurpose: 0 };
  const onPurpose = new Map<string, number>();
  const failures: string[] = [];
  const show = (c: FuzzCase): string => {
    const text = c.bytes.toString('latin1');
    return `${c.what}\n      source ${JSON.stringify(text.length > 400 ? `${text.slice(0, 200)}…${text.slice(-200)}` : text)}`;
  };
  cases.forEach((c, i) => {
    const py = answers[i];
    const got = ours(c.bytes);
    if (got.ok) {
      if (py.result === 'literal' && JSON.stringify(py.entries) === JSON.stringify(got.entries)) counts.both++;
      else failures.push(`accepted what CPython reads otherwise (${py.result === 'literal' ? 'other values' : JSON.stringify(py)}): ${show(c)}`);
    } else if (py.result !== 'literal') counts.neither++;
    else if (got.error.kind === 'unsupported') {
      counts.onPurpose++;
      const reason = got.error.message.replace(/ at line.*/, '');
      onPurpose.set(reason, (onPurpose.get(reason) ?? 0) + 1);
    } else failures.push(`refused as invalid what CPython reads as a plain literal (${got.error.message}): ${show(c)}`);
  });
  const reasons = [...onPurpose].sort((x, y) => y[1] - x[1]).map(([r, n]) => `${n} ${r}`).join('; ');
  console.log(
    `  fuzz (seed ${SEED}, ${files.length} sysconfigdata files, ${cases.length} cases, ${Date.now() - started} ms): ` +
      `${counts.both} accepted by both, ${counts.neither} refused by both, ${counts.onPurpose} plain literals refused on purpose (${reasons}), ${failures.length} disagreements`,
  );
  assert.ok(counts.both > cases.length / 20, `too few accepted cases (${counts.both}) to mean anything`);
  assert.ok(counts.neither > cases.length / 5, `too few refused cases (${counts.neither}) to mean anything`);
  assert.equal(failures.slice(0, 8), [], `${failures.length} disagreements with CPython`);
});

fuzz.run();
