import nodeFs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModuleFact } from '../src/pipeline/build-facts/index.js';
import {
  applyRules,
  inPythonRange,
  builtinRuleFiles,
  isModuleCandidate,
  loadRules,
  normalizeGlob,
  RULES_DIR,
  ruleApplies,
  type Rule,
  type RuleContext,
} from '../src/pipeline/rules.js';
import type { Decision } from '../src/types.js';
import { REPO, makeFs, throwsPackError } from './helpers.js';

const RULES = '/py/rules/';

/** Loads rule files given as { name: JSON value or raw text } from memfs, shown as rules/<name>. */
function load(files: Record<string, unknown>): Rule[] {
  const tree = Object.fromEntries(Object.entries(files).map(([name, v]) => [RULES + name, typeof v === 'string' ? v : JSON.stringify(v)]));
  return loadRules(Object.keys(tree), makeFs(tree), RULES);
}

/** A minimal valid rule. */
const rule = (id: string, fields: Partial<Omit<Rule, 'id'>> = {}): Rule => ({
  id,
  reason: `reason of ${id}`,
  file: 'rules/test.json',
  profiles: ['cpython', 'wasm'],
  omit: [],
  keep: [],
  ...fields,
});

/** Package directories of a path list: every directory, so structural omissions stay out of the way unless a test wants them. */
function allDirs(paths: string[]): Set<string> {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return dirs;
}

function ctx(paths: string[], fields: Partial<RuleContext> = {}): RuleContext {
  return {
    profile: 'wasm',
    target: 'emscripten-browser',
    platform: 'emscripten',
    modules: new Map(),
    factsSource: '/b/Makefile and /b/_sysconfigdata.py',
    platformEvidence: 'target platform emscripten',
    packages: allDirs(paths),
    ...fields,
  };
}

/** `keep`, or `omit <rule id>`: the short form the tables use. */
const short = (d: Decision): string => (d.action === 'keep' ? (d.rule ? `keep ${d.rule.id}` : 'keep') : `omit ${d.rule?.id}`);

function decideOne(file: string, rules: Rule[], fields: Partial<RuleContext> = {}): Decision {
  const { decisions } = applyRules([file], rules, ctx([file], fields));
  assert.is(decisions.length, 1);
  return decisions[0];
}

// ---
const valid = suite('loadRules: valid files');

valid('loads rules with defaults: every profile (a user file), no condition, empty keep', () => {
  const rules = load({ 'a.json': { rules: [{ id: 'tests', reason: 'Tests.', omit: ['test/'] }] } });
  assert.equal(rules, [{ id: 'tests', reason: 'Tests.', file: 'rules/a.json', profiles: ['cpython', 'wasm', 'pyodide'], when: undefined, omit: ['test/'], keep: [] }]);
});

valid("built-in rules without profiles are cpython's and wasm's, not the Pyodide mode's (Pyodide trimmed its stdlib already)", () => {
  const rules = loadRules(builtinRuleFiles());
  assert.equal(rules.find((r) => r.id === 'tests')?.profiles, ['cpython', 'wasm']);
  assert.equal(rules.find((r) => r.id === 'pyodide-sysconfigdata')?.profiles, ['pyodide']);
  assert.equal(rules.filter((r) => r.profiles.includes('pyodide')).map((r) => r.id), ['pyodide-sysconfigdata']);
});

valid('loads every field, a string "unavailable" and file-level $schema/$comment/description', () => {
  const [r] = load({
    'b.json': {
      $schema: './schema.json',
      $comment: 'x',
      description: 'd',
      rules: [{ id: 'ext-ssl', reason: 'r', $comment: 'c', source: 's', profiles: ['wasm'], when: { platform: ['emscripten'], target: ['emscripten-node'], unavailable: '_ssl' }, omit: ['ssl.py'], keep: ['ssl_keep.py'], optional: true }],
    },
  });
  assert.equal(r, {
    id: 'ext-ssl',
    reason: 'r',
    file: 'rules/b.json',
    profiles: ['wasm'],
    when: { platform: ['emscripten'], target: ['emscripten-node'], unavailable: ['_ssl'] },
    omit: ['ssl.py'],
    keep: ['ssl_keep.py'],
    optional: true,
  });
});

valid('keeps the load order across files and within a file', () => {
  const rules = load({ 'b.json': { rules: [{ id: 'b1', reason: 'r', omit: ['x'] }, { id: 'b2', reason: 'r', omit: ['y'] }] }, 'a.json': { rules: [{ id: 'a1', reason: 'r', keep: ['z'] }] } });
  assert.equal(rules.map((r) => r.id), ['b1', 'b2', 'a1']);
});

valid('shows a file outside the display base by its full path', () => {
  const fs = makeFs({ '/elsewhere/mine.json': JSON.stringify({ rules: [{ id: 'mine', reason: 'r', omit: ['x.py'] }] }) });
  assert.is(loadRules(['/elsewhere/mine.json'], fs, RULES)[0].file, '/elsewhere/mine.json');
});

valid('reads a rule\'s python range and the ranges of single globs', () => {
  const [r] = load({ 'v.json': { rules: [{ id: 'v', reason: 'r', python: '<3.13', omit: ['uu.py', { glob: 'asyncore.py', python: '<3.12' }] }] } });
  assert.is(r.python, '<3.13');
  assert.equal(r.omit, ['uu.py', 'asyncore.py']);
  assert.equal(r.globPython, { 'asyncore.py': '<3.12' });
});

valid.run();

// ---
const invalid = suite('loadRules: invalid files');

/** One bad file each; every expected fragment must be in the ERR_RULE_INVALID message. */
const BAD: { name: string; files: Record<string, unknown>; expect: (string | RegExp)[] }[] = [
  { name: 'malformed JSON', files: { 'bad.json': '{ "rules": [ }' }, expect: ['rules/bad.json: not valid JSON'] },
  { name: 'a top level that is not an object', files: { 'bad.json': [] }, expect: ['rules/bad.json: the top level must be an object with a "rules" array, got an array'] },
  { name: 'a missing "rules" array', files: { 'bad.json': { description: 'x' } }, expect: ['rules/bad.json: "rules" must be an array, got undefined'] },
  { name: 'an unknown top-level key', files: { 'bad.json': { rule: [], rules: [] } }, expect: ['rules/bad.json: unknown top-level key "rule"'] },
  { name: 'a rule that is not an object', files: { 'bad.json': { rules: ['tests'] } }, expect: ['rules/bad.json: "rules[0]" must be an object, got string "tests"'] },
  { name: 'an unknown rule key', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], omitt: ['b'] }] } }, expect: ['rules/bad.json: "rules[0].omitt" is not a rule field'] },
  { name: 'a missing id', files: { 'bad.json': { rules: [{ reason: 'r', omit: ['a'] }] } }, expect: ['"rules[0].id" must be a lower-case id', 'got undefined'] },
  { name: 'an id that is a number', files: { 'bad.json': { rules: [{ id: 7, reason: 'r', omit: ['a'] }] } }, expect: ['"rules[0].id" must be a lower-case id like "tests" or "ext-ssl", got 7'] },
  { name: 'an upper-case id', files: { 'bad.json': { rules: [{ id: 'Tests', reason: 'r', omit: ['a'] }] } }, expect: ['"rules[0].id"', 'got "Tests"'] },
  { name: 'an empty reason', files: { 'bad.json': { rules: [{ id: 'x', reason: ' ', omit: ['a'] }] } }, expect: ['"rules[0].reason" must be a non-empty string'] },
  { name: 'omit given as a string', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: 'test/', keep: ['a'] }] } }, expect: ['"rules[0].omit" must be an array of glob strings, got string "test/"'] },
  {
    name: 'a glob that is a number in the third rule',
    files: { 'bad.json': { rules: [{ id: 'a', reason: 'r', omit: ['a'] }, { id: 'b', reason: 'r', omit: ['b'] }, { id: 'x', reason: 'r', omit: [42, 'a'] }] } },
    expect: ['rules/bad.json: "rules[2].omit[0]" must be a glob string, got 42'],
  },
  { name: 'an empty glob', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', keep: [''] }] } }, expect: ['"rules[0].keep[0]" must be a glob string, got ""'] },
  { name: 'an absolute glob', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['/etc/passwd'] }] } }, expect: ['"rules[0].omit[0]" must be a POSIX glob relative to the stdlib, got "/etc/passwd"'] },
  { name: 'a glob with ..', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['json/../../x.py'] }] } }, expect: ['"rules[0].omit[0]" must be a POSIX glob relative to the stdlib'] },
  { name: 'a glob with a backslash', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['json\\decoder.py'] }] } }, expect: ['"rules[0].omit[0]" must be a POSIX glob'] },
  { name: 'a python range that is not one', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], python: '3.x' }] } }, expect: ['"rules[0].python" must be a Python version range like ">=3.12", "<3.13.8", "3.11" or ">=3.11 <3.13", got "3.x"'] },
  { name: 'a glob object with a bad range', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: [{ glob: 'a.py', python: '=>3.12' }] }] } }, expect: ['"rules[0].omit[0].python" must be a Python version range', 'got "=>3.12"'] },
  { name: 'a glob object with an unknown field', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: [{ glob: 'a.py', python: '<3.13', pyhton: 1 }] }] } }, expect: ['"rules[0].omit[0].pyhton" is not a glob field (allowed: glob, python)'] },
  { name: 'a glob object without a glob', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: [{ python: '<3.13' }, 'b.py'] }] } }, expect: ['"rules[0].omit[0]" must be a glob string, got {"python":"<3.13"}'] },
  { name: 'neither omit nor keep', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: [] }] } }, expect: ['"rules[0]" needs at least one glob in "omit" or "keep"'] },
  { name: 'optional that is not a boolean', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], optional: 'yes' }] } }, expect: ['"rules[0].optional" must be true or false, got "yes"'] },
  { name: 'an unknown profile', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], profiles: ['fast'] }] } }, expect: ['"rules[0].profiles" has "fast"; allowed: cpython, wasm'] },
  { name: '"when" that is not an object', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], when: 'emscripten' }] } }, expect: ['"rules[0].when" must be an object, got string "emscripten"'] },
  { name: 'an unknown condition', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], when: { os: 'linux' } }] } }, expect: ['"rules[0].when.os" is not a condition'] },
  { name: 'an unknown platform', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], when: { platform: 'linux' } }] } }, expect: ['"rules[0].when.platform" has "linux"; allowed: emscripten, wasi'] },
  { name: 'an unknown target', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], when: { target: ['node'] } }] } }, expect: ['"rules[0].when.target" has "node"'] },
  { name: '"unavailable" that is a number', files: { 'bad.json': { rules: [{ id: 'x', reason: 'r', omit: ['a'], when: { unavailable: 3 } }] } }, expect: ['"rules[0].when.unavailable" must be a string or an array of strings, got 3'] },
  {
    name: 'a duplicate id across files',
    files: { 'a.json': { rules: [{ id: 'dup', reason: 'r', omit: ['a'] }] }, 'b.json': { rules: [{ id: 'dup', reason: 'r', omit: ['b'] }] } },
    expect: ['rules/b.json: rule id "dup" is already defined in rules/a.json'],
  },
  {
    name: 'a duplicate id in one file',
    files: { 'a.json': { rules: [{ id: 'dup', reason: 'r', omit: ['a'] }, { id: 'dup', reason: 'r', omit: ['b'] }] } },
    expect: ['rules/a.json: rule id "dup" is already defined in rules/a.json'],
  },
];

for (const { name, files, expect } of BAD) {
  invalid(`reports ${name}, naming the file and the place`, () => {
    const error = throwsPackError(() => load(files), 'ERR_RULE_INVALID', /^Invalid rule file: /, ...expect);
    assert.is(error.details?.length, 1, error.message);
    assert.ok(error.hint);
  });
}

invalid('reports a file it cannot read, with the errno', () => {
  throwsPackError(() => loadRules(['/py/rules/missing.json'], makeFs({}), RULES), 'ERR_RULE_INVALID', 'rules/missing.json: cannot read the file (ENOENT)');
});

invalid('reports several problems of several files together, in file order', () => {
  const error = throwsPackError(
    () =>
      load({
        'a.json': '{ nope',
        'b.json': { rules: [{ id: 'ok', reason: 'r', omit: ['a'] }, { id: 'x', reason: 'r', omit: ['a', 'b', '/abs'], keep: [1] }] },
        'c.json': { rules: [{ id: 'fine', reason: 'r', omit: ['c'] }] },
        'd.json': { rules: [{ id: 'fine', reason: 'r', omit: ['d'] }] },
      }),
    'ERR_RULE_INVALID',
    /^Invalid rule files \(4 problems\):\n {2}rules\/a\.json/,
  );
  assert.equal(error.details?.map((d) => d.split(':')[0] + ': ' + (/"[^"]*"/.exec(d)?.[0] ?? '')), [
    'rules/a.json: ',
    'rules/b.json: "rules[1].omit[2]"',
    'rules/b.json: "rules[1].keep[0]"',
    'rules/d.json: "fine"',
  ]);
});

invalid.run();

// ---
const builtin = suite('loadRules: the built-in rules/');

builtin('lists every rules/*.json file, sorted, and only those', () => {
  const files = builtinRuleFiles();
  const expected = nodeFs.readdirSync(RULES_DIR).filter((n) => n.endsWith('.json')).sort().map((n) => path.join(RULES_DIR, n));
  assert.equal(files, expected);
  assert.ok(files.length >= 6);
});

builtin('loads all built-in rules, shown as rules/<file>, with unique ids', () => {
  const rules = loadRules(builtinRuleFiles());
  assert.ok(rules.length >= 20, `${rules.length} rules`);
  assert.is(new Set(rules.map((r) => r.id)).size, rules.length);
  for (const r of rules) assert.match(r.file, /^rules\/[a-z0-9-]+\.json$/);
  assert.ok(rules.some((r) => r.id === 'tests'));
});

builtin.run();

// ---
const precedence = suite('applyRules: precedence (--keep > --omit > rule keep > rule omit > default)');

const PRECEDENCE: { name: string; path: string; rules: Rule[]; cli?: { keep?: string[]; omit?: string[] }; expect: string }[] = [
  { name: 'nothing matches: kept by default, no rule', path: 'os.py', rules: [rule('r', { omit: ['json/'] })], expect: 'keep' },
  { name: 'a rule omit', path: 'test/test_os.py', rules: [rule('tests', { omit: ['test/'] })], expect: 'omit tests' },
  { name: 'a rule keep beats a rule omit of another rule', path: 'test/support/x.py', rules: [rule('tests', { omit: ['test/'] }), rule('support', { keep: ['test/support/'] })], expect: 'keep support' },
  { name: 'a rule keep beats a rule omit loaded after it', path: 'test/support/x.py', rules: [rule('support', { keep: ['test/support/'] }), rule('tests', { omit: ['test/'] })], expect: 'keep support' },
  { name: 'a rule keep beats the same rule\'s omit', path: 'test/support/x.py', rules: [rule('tests', { omit: ['test/'], keep: ['test/support/**'] })], expect: 'keep tests' },
  { name: 'the first omitting rule in load order is cited', path: 'ssl.py', rules: [rule('first', { omit: ['ssl.py'] }), rule('second', { omit: ['*.py'] })], expect: 'omit first' },
  { name: '--omit beats a rule keep', path: 'test/support/x.py', rules: [rule('support', { keep: ['test/support/'] })], cli: { omit: ['test/'] }, expect: 'omit cli-omit' },
  { name: '--omit omits what no rule names', path: 'os.py', rules: [], cli: { omit: ['os.py'] }, expect: 'omit cli-omit' },
  { name: '--keep beats a rule omit', path: 'test/test_os.py', rules: [rule('tests', { omit: ['test/'] })], cli: { keep: ['test/test_os.py'] }, expect: 'keep cli-keep' },
  { name: '--keep beats --omit', path: 'json/decoder.py', rules: [], cli: { keep: ['json/'], omit: ['json/decoder.py'] }, expect: 'keep cli-keep' },
  {
    name: '--keep beats everything at once',
    path: 'test/x.py',
    rules: [rule('tests', { omit: ['test/'] }), rule('k', { keep: ['test/x.py'] })],
    cli: { keep: ['test/x.py'], omit: ['test/'] },
    expect: 'keep cli-keep',
  },
  { name: 'a rule keep alone records the rule', path: 'os.py', rules: [rule('k', { keep: ['os.py'] })], expect: 'keep k' },
];

for (const row of PRECEDENCE) {
  precedence(`${row.path}: ${row.name} → ${row.expect}`, () => {
    assert.is(short(decideOne(row.path, row.rules, row.cli ?? {})), row.expect);
  });
}

precedence('cites the rule, its file, the matching glob, its reason and no evidence for an unconditional rule', () => {
  const d = decideOne('test/test_os.py', [rule('tests', { omit: ['*.py', 'test/'] })]);
  assert.equal(d, { path: 'test/test_os.py', action: 'omit', rule: { id: 'tests', file: 'rules/test.json', pattern: 'test/', reason: 'reason of tests', evidence: undefined } });
});

precedence('cites the command line for --keep and --omit', () => {
  assert.equal(decideOne('os.py', [], { omit: ['os.py'] }).rule, { id: 'cli-omit', file: '<command line>', pattern: 'os.py', reason: 'omitted by --omit "os.py"' });
  assert.equal(decideOne('os.py', [], { keep: ['*.py'] }).rule, { id: 'cli-keep', file: '<command line>', pattern: '*.py', reason: 'kept by --keep "*.py"' });
});

precedence('returns one decision per path, in the order given', () => {
  const paths = ['z.py', 'a.py', 'm/__init__.py'];
  assert.equal(applyRules(paths, [], ctx(paths)).decisions.map((d) => d.path), paths);
});

precedence.run();

// ---
const globs = suite('applyRules: globs');

const GLOBS: { glob: string; matches: string[]; misses: string[] }[] = [
  { glob: 'test/', matches: ['test/a.py', 'test/sub/deep/b.py', 'test/__init__.py'], misses: ['testing.py', 'x/test/a.py', 'test.py'] },
  { glob: '**/tests/', matches: ['tests/a.py', 'lib2to3/tests/a.py', 'a/b/tests/c/d.py'], misses: ['tests.py', 'a/tests.py', 'a/testsuite/x.py'] },
  { glob: '*.py', matches: ['os.py', '_x.py'], misses: ['json/decoder.py'] },
  { glob: '**/*.py', matches: ['os.py', 'json/decoder.py'], misses: [] },
  { glob: 'json', matches: [], misses: ['json/__init__.py'] },
  { glob: 'config-*/', matches: ['config-3.11-x86_64-linux-gnu/m.py'], misses: ['config.py'] },
  { glob: '_sysconfigdata_*.py', matches: ['_sysconfigdata__linux_x86_64-linux-gnu.py'], misses: ['sysconfig.py'] },
  { glob: '**/.hidden/', matches: ['a/.hidden/x.py', '.hidden/x.py'], misses: [] },
];

for (const { glob, matches, misses } of GLOBS) {
  globs(`"${glob}" matches ${matches.length ? matches.join(', ') : 'nothing here'}${misses.length ? ` and not ${misses.join(', ')}` : ''}`, () => {
    const paths = [...matches, ...misses];
    const { decisions } = applyRules(paths, [rule('g', { omit: [glob], optional: true })], ctx(paths));
    assert.equal(decisions.filter((d) => d.action === 'omit').map((d) => d.path), matches);
  });
}

globs('normalizeGlob turns a trailing slash into "everything below"', () => {
  assert.is(normalizeGlob('test/'), 'test/**');
  assert.is(normalizeGlob('test/**'), 'test/**');
  assert.is(normalizeGlob('os.py'), 'os.py');
});

globs.run();

// ---
const conditions = suite('applyRules: conditions');

const SSL_MISSING: ModuleFact = { available: false, evidence: "MODULE__SSL_STATE = 'missing' in /b/_sysconfigdata.py" };
const SSL_YES: ModuleFact = { available: true, evidence: "MODULE__SSL_STATE = 'yes' in /b/_sysconfigdata.py" };

conditions('applies a rule only in its profiles', () => {
  const rules = [rule('w', { profiles: ['wasm'], omit: ['os.py'] })];
  assert.is(short(decideOne('os.py', rules, { profile: 'wasm' })), 'omit w');
  assert.is(short(decideOne('os.py', rules, { profile: 'cpython' })), 'keep');
});

conditions('applies a platform rule on that platform, with the platform evidence', () => {
  const rules = [rule('net', { when: { platform: ['emscripten'] }, omit: ['ftplib.py'] })];
  const d = decideOne('ftplib.py', rules, { platform: 'emscripten', platformEvidence: 'target platform emscripten (_sysconfigdata__emscripten)' });
  assert.is(short(d), 'omit net');
  assert.equal(d.rule?.evidence, ['target platform emscripten (_sysconfigdata__emscripten)']);
  assert.is(short(decideOne('ftplib.py', rules, { platform: 'wasi', target: 'wasi' })), 'keep');
});

conditions('applies a target rule for that target only, with "target <name>" as evidence', () => {
  const rules = [rule('node-only', { when: { target: ['emscripten-node'] }, omit: ['webbrowser.py'] })];
  const d = decideOne('webbrowser.py', rules, { target: 'emscripten-node' });
  assert.is(short(d), 'omit node-only');
  assert.equal(d.rule?.evidence, ['target emscripten-node']);
  assert.is(short(decideOne('webbrowser.py', rules, { target: 'emscripten-browser' })), 'keep');
});

conditions('applies an "unavailable" rule when the module is unavailable, citing the build fact', () => {
  const rules = [rule('ext-ssl', { when: { unavailable: ['_ssl'] }, omit: ['ssl.py'] })];
  const d = decideOne('ssl.py', rules, { modules: new Map([['_ssl', SSL_MISSING]]) });
  assert.is(short(d), 'omit ext-ssl');
  assert.equal(d.rule?.evidence, [SSL_MISSING.evidence]);
  assert.is(short(decideOne('ssl.py', rules, { modules: new Map([['_ssl', SSL_YES]]) })), 'keep');
});

conditions('counts a module no build fact names as unavailable, and says so', () => {
  const rules = [rule('ext-ctypes', { when: { unavailable: ['_ctypes'] }, omit: ['ctypes/'] })];
  const d = decideOne('ctypes/__init__.py', rules, { modules: new Map([['_ssl', SSL_YES]]), factsSource: '/b/Makefile and /b/sd.py' });
  assert.is(short(d), 'omit ext-ctypes');
  assert.equal(d.rule?.evidence, ['_ctypes: named by no build fact in /b/Makefile and /b/sd.py, so unavailable']);
});

conditions('applies when any listed module is unavailable, citing only those', () => {
  const rules = [rule('tk', { when: { unavailable: ['_ssl', '_tkinter'] }, omit: ['tkinter/'] })];
  const modules = new Map([['_ssl', SSL_YES], ['_tkinter', { available: false, evidence: "MODULE__TKINTER_STATE = 'disabled' in x" }]]);
  assert.equal(decideOne('tkinter/__init__.py', rules, { modules }).rule?.evidence, ["MODULE__TKINTER_STATE = 'disabled' in x"]);
  const allThere = new Map([['_ssl', SSL_YES], ['_tkinter', { available: true, evidence: 'y' }]]);
  assert.is(short(decideOne('tkinter/__init__.py', rules, { modules: allThere })), 'keep');
});

conditions('needs every condition: platform and unavailable together', () => {
  const rules = [rule('both', { when: { platform: ['wasi'], unavailable: ['_ssl'] }, omit: ['ssl.py'] })];
  const modules = new Map([['_ssl', SSL_MISSING]]);
  assert.is(short(decideOne('ssl.py', rules, { platform: 'emscripten', modules })), 'keep');
  const d = decideOne('ssl.py', rules, { platform: 'wasi', target: 'wasi', platformEvidence: 'target platform wasi', modules });
  assert.equal(d.rule?.evidence, ['target platform wasi', SSL_MISSING.evidence]);
});

conditions('ruleApplies returns undefined for an inactive rule and [] for an unconditional one', () => {
  assert.is(ruleApplies(rule('c', { profiles: ['cpython'], omit: ['x'] }), ctx([])), undefined);
  assert.equal(ruleApplies(rule('u', { omit: ['x'] }), ctx([])), []);
});

conditions('a rule or glob for other Python versions decides nothing there', () => {
  const paths = ['uu.py', 'asyncore.py', 'email/__init__.py'];
  const rules = [rule('removed', { python: '<3.13', omit: ['uu.py'] }), rule('glob', { omit: ['asyncore.py', 'email/'], globPython: { 'asyncore.py': '<3.12', 'email/': '>=3.11 <3.13' } })];
  const omitted = (version?: string) => applyRules(paths, rules, ctx(paths, { version })).decisions.filter((d) => d.action === 'omit').map((d) => d.path);
  assert.equal(omitted('3.11'), ['uu.py', 'asyncore.py', 'email/__init__.py']);
  assert.equal(omitted('3.12'), ['uu.py', 'email/__init__.py']);
  assert.equal(omitted('3.13'), []);
  assert.equal(omitted(undefined), ['uu.py', 'asyncore.py', 'email/__init__.py'], 'an unknown version applies everything');
});

conditions.run();

// ---
const structure = suite('applyRules: structural omissions');

structure('omits data files whatever the rules and --keep say', () => {
  const paths = ['os.py', 'json/__init__.py', 'json/data.json', 'README.txt', 'module.pyc'];
  const { decisions } = applyRules(paths, [], ctx(paths, { keep: ['**'], packages: new Set(['json']) }));
  assert.equal(decisions.map(short), ['keep cli-keep', 'keep cli-keep', 'omit structure/data-file', 'omit structure/data-file', 'omit structure/data-file']);
});

structure('omits .py files outside packages (a directory without __init__.py, at any depth)', () => {
  const paths = ['top.py', 'pkg/__init__.py', 'pkg/m.py', 'pkg/data/m.py', 'site-packages/x.py', 'notpkg/pkg/__init__.py'];
  const { decisions } = applyRules(paths, [], ctx(paths, { packages: new Set(['pkg', 'notpkg/pkg']) }));
  assert.equal(decisions.map(short), ['keep', 'keep', 'keep', 'omit structure/not-a-package', 'omit structure/not-a-package', 'omit structure/not-a-package']);
});

structure('cites an omitting rule rather than the structural reason for a non-module', () => {
  const paths = ['test/__init__.py', 'test/data.txt', 'test/notpkg/x.py', 'other/x.py', 'other.txt'];
  const { decisions } = applyRules(paths, [rule('tests', { omit: ['test/'] })], ctx(paths, { packages: new Set(['test']) }));
  assert.equal(decisions.map(short), ['omit tests', 'omit tests', 'omit tests', 'omit structure/not-a-package', 'omit structure/data-file']);
});

structure('isModuleCandidate tells modules, data files and unreachable files apart', () => {
  const packages = new Set(['a', 'a/b']);
  assert.is(isModuleCandidate('x.py', packages), 'module');
  assert.is(isModuleCandidate('a/b/c.py', packages), 'module');
  assert.is(isModuleCandidate('a/c/d.py', packages), 'not-a-package');
  assert.is(isModuleCandidate('a/b/c.txt', packages), 'data-file');
});

structure.run();

// ---
const unmatched = suite('applyRules: RULE_UNMATCHED warnings');

unmatched('warns once per active rule glob that matches nothing, naming the rule, file and glob', () => {
  const paths = ['os.py', 'json/__init__.py'];
  const { warnings } = applyRules(paths, [rule('r', { omit: ['json/', 'nope/'], keep: ['typo.py'] })], ctx(paths));
  assert.equal(warnings, [
    { code: 'RULE_UNMATCHED', path: 'rules/test.json', message: 'rule "r" (rules/test.json): pattern "nope/" matches nothing in this stdlib' },
    { code: 'RULE_UNMATCHED', path: 'rules/test.json', message: 'rule "r" (rules/test.json): pattern "typo.py" matches nothing in this stdlib' },
  ]);
});

unmatched('does not warn for optional rules or for rules whose condition does not hold', () => {
  const rules = [rule('opt', { omit: ['nope/'], optional: true }), rule('other', { profiles: ['cpython'], omit: ['nope/'] }), rule('wasi', { when: { platform: ['wasi'] }, omit: ['nope/'] })];
  assert.equal(applyRules(['os.py'], rules, ctx(['os.py'])).warnings, []);
});

unmatched('counts a glob as matched when it matches only a data file or a file --keep keeps', () => {
  const paths = ['os.py', 'json/__init__.py', 'json/x.json'];
  const rules = [rule('data', { omit: ['**/*.json'] }), rule('kept', { omit: ['os.py'] })];
  assert.equal(applyRules(paths, rules, ctx(paths, { keep: ['os.py'] })).warnings, []);
});

unmatched('warns for --keep and --omit globs that match nothing', () => {
  const { warnings } = applyRules(['os.py'], [], ctx(['os.py'], { keep: ['kep.py'], omit: ['omt/'] }));
  assert.equal(warnings, [
    { code: 'RULE_UNMATCHED', message: '--keep "kep.py" matches nothing in this stdlib' },
    { code: 'RULE_UNMATCHED', message: '--omit "omt/" matches nothing in this stdlib' },
  ]);
});

unmatched('does not warn for rules and globs about other Python versions, and still warns for a typo', () => {
  const paths = ['os.py', 'uu.py'];
  const rules = [
    rule('removed', { python: '<3.13', omit: ['uu.py', 'xdrlib.py'] }),
    rule('mixed', { omit: ['os.py', 'asyncore.py', 'typo.py'], globPython: { 'asyncore.py': '<3.12' } }),
  ];
  assert.equal(applyRules(paths, rules, ctx(paths, { version: '3.13' })).warnings.map((w) => w.message), ['rule "mixed" (rules/test.json): pattern "typo.py" matches nothing in this stdlib']);
  assert.equal(applyRules(paths, rules, ctx(paths, { version: '3.12' })).warnings.map((w) => w.message), [
    'rule "removed" (rules/test.json): pattern "xdrlib.py" matches nothing in this stdlib',
    'rule "mixed" (rules/test.json): pattern "typo.py" matches nothing in this stdlib',
  ]);
});

unmatched('does not warn for a stdlib module this tree lacks altogether (a distribution\'s layout), and still warns for a typo', () => {
  const paths = ['os.py', 'json/__init__.py'];
  const rules = [rule('r', { omit: ['tkinter/', 'idlelib/idle_test/', 'test/', 'json/tool.py', 'tkintr/'] })];
  const stdlibModules = new Set(['os', 'json', 'tkinter', 'idlelib', 'test']);
  assert.equal(applyRules(paths, rules, ctx(paths, { stdlibModules })).warnings.map((w) => w.message), [
    'rule "r" (rules/test.json): pattern "json/tool.py" matches nothing in this stdlib',
    'rule "r" (rules/test.json): pattern "tkintr/" matches nothing in this stdlib',
  ]);
});

unmatched.run();

// ---
const fixtures = suite('applyRules: fixture cases (test/fixtures/rules/<case>/)');

const FIXTURES = path.join(REPO, 'test/fixtures/rules');

interface FixtureCase {
  paths: string[];
  packages: string[];
  profile?: RuleContext['profile'];
  platform?: RuleContext['platform'];
  target?: RuleContext['target'];
  keep?: string[];
  omit?: string[];
  factsSource?: string;
  modules?: Record<string, [boolean, string]>;
}

interface FixtureExpected {
  kept: string[];
  omitted: Record<string, string>;
  evidence?: Record<string, string[]>;
  warnings: string[];
}

for (const name of nodeFs.readdirSync(FIXTURES).filter((n) => nodeFs.statSync(path.join(FIXTURES, n)).isDirectory()).sort()) {
  fixtures(`decides the "${name}" case as expected.json says`, () => {
    const dir = path.join(FIXTURES, name);
    const read = <T>(file: string): T => JSON.parse(nodeFs.readFileSync(path.join(dir, file), 'utf8'));
    const input = read<FixtureCase>('case.json');
    const expected = read<FixtureExpected>('expected.json');
    const ruleDir = path.join(dir, 'rules') + path.sep;
    const rules = loadRules(nodeFs.readdirSync(ruleDir).filter((n) => n.endsWith('.json')).sort().map((n) => ruleDir + n), nodeFs, ruleDir);
    const modules = new Map(Object.entries(input.modules ?? {}).map(([m, [available, evidence]]) => [m, { available, evidence }]));
    const { decisions, warnings } = applyRules(input.paths, rules, {
      ...ctx(input.paths),
      ...(input.profile && { profile: input.profile }),
      ...(input.platform && { platform: input.platform }),
      ...(input.target && { target: input.target }),
      ...(input.factsSource && { factsSource: input.factsSource }),
      keep: input.keep,
      omit: input.omit,
      modules,
      packages: new Set(input.packages),
    });
    assert.equal(decisions.filter((d) => d.action === 'keep').map((d) => d.path), expected.kept);
    assert.equal(Object.fromEntries(decisions.filter((d) => d.action === 'omit').map((d) => [d.path, d.rule?.id])), expected.omitted);
    for (const [file, evidence] of Object.entries(expected.evidence ?? {})) {
      assert.equal(decisions.find((d) => d.path === file)?.rule?.evidence, evidence, file);
    }
    assert.equal(warnings.map((w) => w.message), expected.warnings);
  });
}

fixtures.run();

// ---
const ranges = suite('inPythonRange');

ranges('compares versions numerically, patch levels where the range names one; every part must hold', () => {
  const table: [string, string, boolean][] = [
    ['3.11', '<3.13', true], ['3.13', '<3.13', false], ['3.9', '<3.10', true], ['3.10', '>=3.9', true],
    ['3.12', '>=3.11 <3.13', true], ['3.13', '>=3.11 <3.13', false], ['3.14', '3.14', true], ['3.14', '==3.13', false],
    ['3.14', '>3.13', true], ['3.13', '<=3.13', true], ['4.0', '>=3.14', true],
    // A patch level counts only where the range names one.
    ['3.13.7', '<3.13.8', true], ['3.13.8', '<3.13.8', false], ['3.13.15', '<3.13.8', false], ['3.12.9', '<3.13.8', true],
    ['3.13.15', '<3.14', true], ['3.13.15', '3.13', true], ['3.13', '<3.13.8', true], ['3.14.2', '>=3.14.1', true],
  ];
  for (const [version, range, want] of table) assert.is(inPythonRange(version, range), want, `${version} in ${range}`);
});

ranges.run();
