// The built-in descriptions of stock Emscripten builds (rules/builds/emscripten-<version>.json,
// the embedded default's build facts) are generated, never edited: each must be what
// test/support/make-build-description.py makes from the real build configuration in the
// Pyodide release of its version, and what the embedded default renders from it must be a
// sysconfigdata module that the interpreter reads. The 3.11 one is also checked against a
// real stock CPython 3.11.2 Emscripten build when test/support/build-emscripten-python.sh
// has made one (always under CI).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSysconfigdataVars } from '../src/pipeline/build-facts/index.js';
import { embeddedFacts } from '../src/pipeline/options/index.js';
import { REPO, skip } from './helpers.js';

const require = createRequire(import.meta.url);
const RELEASES: [string, string][] = [['3.11', 'pyodide'], ['3.12', 'pyodide-0.27'], ['3.13', 'pyodide-0.29'], ['3.14', 'pyodide-314']];
const committed = (version: string) => readFileSync(join(REPO, `rules/builds/emscripten-${version}.json`), 'utf8');

// ---
const generated = suite('rules/builds/: generated from the real build of each version');

for (const [version, pkg] of RELEASES) {
  generated(`emscripten-${version}.json is make-build-description.py's output for ${pkg}`, () => {
    const dir = dirname(require.resolve(`${pkg}/package.json`));
    const run = spawnSync('python3', [join(REPO, 'test/support/make-build-description.py'), dir, version], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.ok(run.stdout === committed(version), `rules/builds/emscripten-${version}.json differs from the generator's output: regenerate it (see the script's header)`);
  });
}

generated.run();

// ---
const rendered = suite('embeddedFacts: the sysconfigdata written into the zip');

for (const [version] of RELEASES) {
  rendered(`${version}: a plain literal of this version, with the prefix in its paths, that python3 evaluates to the same values`, () => {
    const { facts, exact } = embeddedFacts(version, undefined, '/opt/py');
    assert.ok(exact);
    const text = Buffer.from(facts.sysconfigdataSource!).toString('utf8');
    const vars = readSysconfigdataVars(text, 'rendered');
    assert.is(vars.get('VERSION'), version);
    assert.is(vars.get('prefix'), '/opt/py');
    assert.is(vars.get('LIBDEST'), `/opt/py/lib/python${version}`);
    const data = JSON.parse(committed(version)) as { modules: Record<string, string> };
    for (const [name, state] of Object.entries(data.modules)) assert.is(vars.get(`MODULE_${name.toUpperCase()}_STATE`), state, name);
    const run = spawnSync('python3', ['-I', '-c', 'import ast, json, sys; t = ast.parse(sys.stdin.read()); print(json.dumps(ast.literal_eval(t.body[-1].value)))'], { input: text, encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.equal(new Map(Object.entries(JSON.parse(run.stdout))), vars);
  });
}

rendered('a version without a description takes the nearest older one and writes no sysconfigdata', () => {
  const newer = embeddedFacts('3.15');
  assert.is(newer.from, 'rules/builds/emscripten-3.14.json');
  assert.not.ok(newer.exact);
  assert.is(newer.facts.sysconfigdataSource, undefined);
  assert.is(embeddedFacts('3.10').from, 'rules/builds/emscripten-3.11.json');
});

rendered.run();

// ---
const stock = suite('rules/builds/emscripten-3.11.json: a real stock build');

stock("its module states are those of CPython 3.11.2 built for Emscripten here (the browser target), _sqlite3 aside", () => {
  const file = join(REPO, '.cache/emscripten-3.11.2/browser/build/lib.emscripten-wasm32-3.11/_sysconfigdata__emscripten_wasm32-emscripten.py');
  if (!existsSync(file)) {
    if (process.env.CI) assert.unreachable(`CI: no stock Emscripten build at ${file} (test/support/build-emscripten-python.sh)`);
    return skip(`no stock Emscripten build at ${file} (bash test/support/build-emscripten-python.sh browser)`);
  }
  const real = readSysconfigdataVars(readFileSync(file, 'utf8'), file);
  const states = Object.fromEntries([...real].filter(([k]) => /^MODULE_.*_STATE$/.test(k)).map(([k, v]) => [k.slice(7, -6).toLowerCase(), v]));
  const described = (JSON.parse(committed('3.11')) as { modules: Record<string, string> }).modules;
  // Both say unavailable: the description 'missing' (no port offline), the real configure 'disabled'.
  assert.ok(described._sqlite3 !== 'yes' && states._sqlite3 !== 'yes');
  delete described._sqlite3;
  delete states._sqlite3;
  assert.equal(described, states);
});

stock.run();
