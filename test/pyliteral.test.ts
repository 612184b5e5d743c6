import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LiteralError, parsePythonDictLiteral, type PyValue } from '../src/pyliteral.js';
import { REPO, havePython, runPython, skip } from './helpers.js';

const NAME = 'build_time_vars';
const parse = (source: string): Record<string, PyValue> => Object.fromEntries(parsePythonDictLiteral(source, NAME));

/** Python's answer for `source`: the one assignment's value through ast.literal_eval, as JSON. */
const LITERAL_EVAL = `
import ast, json, sys
tree = ast.parse(sys.stdin.read())
assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign), 'not one assignment'
print(json.dumps(ast.literal_eval(tree.body[0].value)))
`;

/** The sysconfigdata of a real Emscripten CPython 3.11 build (Pyodide 0.25.1 ships it in its stdlib zip). */
function pyodideSysconfigdata(): string {
  const zip = nodeFs.readFileSync(path.join(REPO, 'node_modules/pyodide/python_stdlib.zip'));
  const name = '_sysconfigdata__emscripten_wasm32-emscripten.py';
  const files = unzipSync(zip, { filter: (f) => f.name === name });
  assert.ok(files[name], `${name} is not in pyodide's python_stdlib.zip`);
  return Buffer.from(files[name]).toString('utf8');
}

/** Accepted sources and the values Python gives them (checked against ast.literal_eval below). */
const ACCEPTED: { name: string; source: string; expect: Record<string, PyValue> }[] = [
  { name: 'an empty dict', source: 'build_time_vars = {}', expect: {} },
  { name: 'ints, negative ints and zero', source: "build_time_vars = {'A': 0, 'B': 42, 'C': -7, 'D': +3}", expect: { A: 0, B: 42, C: -7, D: 3 } },
  { name: 'True, False and None', source: "build_time_vars = {'T': True, 'F': False, 'N': None}", expect: { T: true, F: false, N: null } },
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
  { name: 'unknown escapes kept as written', source: String.raw`build_time_vars = {'re': '\d+\.\w'}`, expect: { re: '\\d+\\.\\w' } },
  { name: 'raw strings keep backslashes', source: String.raw`build_time_vars = {'r': r'C:\new\'x'}`, expect: { r: "C:\\new\\'x" } },
  { name: 'triple-quoted strings with newlines', source: "build_time_vars = {'t': '''one\ntwo'''}", expect: { t: 'one\ntwo' } },
  {
    name: 'comments, blank lines and a trailing comma',
    source: "# system configuration generated and used by the sysconfig module\n\nbuild_time_vars = {  # start\n 'A': 1,  # one\n\n 'B': 'x',\n}\n# end\n",
    expect: { A: 1, B: 'x' },
  },
  { name: 'a repeated key: the last value wins, as in Python', source: "build_time_vars = {'A': 1, 'A': 2}", expect: { A: 2 } },
  { name: 'non-ASCII text', source: "build_time_vars = {'PREFIX': '/ユーザー/py'}", expect: { PREFIX: '/ユーザー/py' } },
];

// ---
const real = suite('parsePythonDictLiteral: a real sysconfigdata');

real('parses Pyodide 0.25.1 sysconfigdata to exactly what ast.literal_eval gives', () => {
  const source = pyodideSysconfigdata();
  const vars = parsePythonDictLiteral(source, NAME);
  assert.ok(vars.size > 900, `only ${vars.size} variables`);
  assert.is(vars.get('MODULE__SSL_STATE'), 'missing');
  assert.is(vars.get('MACHDEP'), 'emscripten');
  if (!havePython()) return skip('no python3 to compare with');
  const expected = JSON.parse(runPython(LITERAL_EVAL, [], source));
  assert.equal(Object.fromEntries(vars), expected);
});

real('keeps the insertion order of the keys', () => {
  const keys = [...parsePythonDictLiteral(pyodideSysconfigdata(), NAME).keys()];
  assert.equal(keys.slice(0, 3), ['ABIFLAGS', 'AC_APPLE_UNIVERSAL_BUILD', 'AIX_BUILDDATE']);
});

real.run();

// ---
const accepts = suite('parsePythonDictLiteral: accepted literals');

for (const { name, source, expect } of ACCEPTED) {
  accepts(`parses ${name}`, () => {
    assert.equal(parse(source), expect);
  });
}

accepts('agrees with ast.literal_eval on every accepted case (python3)', () => {
  if (!havePython()) return skip('no python3 to compare with');
  const script = `
import ast, json, sys
out = []
for source in json.load(sys.stdin):
    tree = ast.parse(source)
    out.append(ast.literal_eval(tree.body[0].value))
print(json.dumps(out))
`;
  const got = JSON.parse(runPython(script, [], JSON.stringify(ACCEPTED.map((c) => c.source))));
  assert.equal(got, ACCEPTED.map((c) => c.expect));
});

accepts('strips a UTF-8 byte order mark', () => {
  assert.equal(parse("\uFEFFbuild_time_vars = {'A': 1}"), { A: 1 });
});

accepts('parses under another variable name', () => {
  assert.equal(Object.fromEntries(parsePythonDictLiteral("other = {'A': 1}", 'other')), { A: 1 });
});

accepts.run();

// ---
const rejects = suite('parsePythonDictLiteral: rejects code');

/** Sources that hold code, and where the parser must point. */
const REJECTED: { name: string; source: string; message: RegExp }[] = [
  { name: 'a call instead of the dict', source: 'build_time_vars = dict(a=1)', message: /expected "\{" at line 1, column 19, found "dict\(a=1\)"/ },
  { name: 'a call as a value', source: "build_time_vars = {'a': dict(a=1)}", message: /expected a string or number at line 1, column 25/ },
  { name: 'a name as a value', source: "build_time_vars = {'a': os}", message: /expected a string or number at line 1, column 25, found "os\}"/ },
  { name: 'an expression as a value', source: "build_time_vars = {'a': 1 + 2}", message: /expected "," or "\}" at line 1, column 27/ },
  { name: 'a second statement after ";"', source: "build_time_vars = {'a': 1}; import os", message: /unexpected code after the dict at line 1, column 27: "; import os"/ },
  { name: 'a second statement on a new line', source: "build_time_vars = {'a': 1}\nimport os\n", message: /unexpected code after the dict at line 2, column 1: "import os"/ },
  { name: 'a statement before the assignment', source: "import os\nbuild_time_vars = {'a': 1}", message: /expected "build_time_vars" at line 1, column 1, found "import os"/ },
  { name: 'another variable name', source: "other_vars = {'a': 1}", message: /expected "build_time_vars" at line 1, column 1/ },
  { name: 'a longer name that starts with the expected one', source: "build_time_vars_x = {'a': 1}", message: /expected "=" at line 1, column 16/ },
  { name: 'a non-string key', source: 'build_time_vars = {1: 2}', message: /expected a string key at line 1, column 20/ },
  { name: 'a list value', source: "build_time_vars = {'a': [1]}", message: /expected a string or number at line 1, column 25/ },
  { name: 'a bytes value', source: "build_time_vars = {'a': b'x'}", message: /expected a string or number at line 1, column 25/ },
  { name: 'an f-string value', source: "build_time_vars = {'a': f'{x}'}", message: /expected a string or number at line 1, column 25/ },
  { name: 'a missing comma', source: "build_time_vars = {'a': 1 'b': 2}", message: /expected "," or "\}" at line 1, column 27/ },
  { name: 'an empty entry', source: "build_time_vars = {'a': 1,, 'b': 2}", message: /expected a string key at line 1, column 27/ },
  { name: 'an unterminated string', source: "build_time_vars = {\n 'a': 'abc", message: /unterminated string at line 2, column 11/ },
  { name: 'a newline inside a single-quoted string', source: "build_time_vars = {'a': 'ab\ncd'}", message: /newline in string at line 1, column 28/ },
  { name: 'an unterminated dict', source: "build_time_vars = {'a': 1,", message: /expected a string key at line 1, column 27, found "end of file"/ },
  { name: 'a bad \\x escape', source: "build_time_vars = {'a': '\\xZZ'}", message: /bad escape at line 1, column 26/ },
];

for (const { name, source, message } of REJECTED) {
  rejects(`rejects ${name}, naming the line and column`, () => {
    try {
      parsePythonDictLiteral(source, NAME);
    } catch (error) {
      assert.instance(error, LiteralError);
      assert.match((error as Error).message, message);
      return;
    }
    assert.unreachable(`accepted: ${source}`);
  });
}

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
