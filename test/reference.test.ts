// Acceptance (issue 2): with `profile: 'cpython'`, pack() puts exactly the entries, in
// exactly the order, that CPython 3.11.2's own Tools/wasm/wasm_assets.py puts in its zip,
// given the same Lib/ and build root. The expected list is not written down here: it comes
// from running the real script (test/support/reference.ts), cached per input hash.
//
// Needs .cache/cpython-3.11.2 (bash test/support/fetch-cpython.sh, ~5 s cold) and python3.11.
// Without them the suites are skipped with a message, except under CI, where that fails.
// Cost: ~3 s per reference run when not cached (3 fixtures + 1 for the cache test; reruns
// hit .cache/reference/), plus one pack() per fixture (~5 s each). ~30 s from cold, ~15 s warm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtures,
  cpython313Srcdir,
  cpythonSrcdir,
  python313,
  listZipEntries,
  runReference,
  runReferenceDetailed,
} from './support/reference.js';

const SYSCONFIGDATA_PYC = '_sysconfigdata__emscripten_wasm32-emscripten.pyc';

function whyNot(): string {
  if (!existsSync(join(cpythonSrcdir, '.complete'))) {
    return `no CPython 3.11.2 sources in ${cpythonSrcdir} (run: bash test/support/fetch-cpython.sh)`;
  }
  const py = spawnSync('python3.11', ['-c', 'import sys; assert sys.version_info[:2] == (3, 11)']);
  if (py.status !== 0) return 'python3.11 is not on PATH';
  return '';
}
const missing = whyNot();

/** A fresh copy of a build-root fixture, so nothing writes into test/fixtures. */
function copyFixture(name: string): { dir: string; done: () => void } {
  const tmp = mkdtempSync(join(tmpdir(), 'pywasm-ref-fixture-'));
  const dir = join(tmp, name);
  cpSync(join(buildFixtures, name), dir, { recursive: true });
  return { dir, done: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** '' when equal; else a short, readable account of how `actual` differs from `expected`. */
function diffEntries(actual: string[], expected: string[]): string {
  if (actual.length === expected.length && actual.every((e, i) => e === expected[i])) return '';
  const want = new Set(expected);
  const got = new Set(actual);
  const missingEntries = expected.filter((e) => !got.has(e));
  const extra = actual.filter((e) => !want.has(e));
  const lines = [`pack() wrote ${actual.length} entries, the reference ${expected.length}.`];
  const show = (label: string, list: string[]) => {
    if (list.length === 0) return;
    lines.push(`${label} (${list.length}):`, ...list.slice(0, 40).map((e) => `  ${e}`));
    if (list.length > 40) lines.push(`  ... and ${list.length - 40} more`);
  };
  show('missing from pack() (the reference has them)', missingEntries);
  show('extra in pack() (the reference does not have them)', extra);
  if (missingEntries.length === 0 && extra.length === 0) {
    const i = actual.findIndex((e, k) => e !== expected[k]);
    lines.push(`same entries, different order; first difference at index ${i}:`);
    for (let k = Math.max(0, i - 2); k < Math.min(expected.length, i + 3); k++) {
      lines.push(`  ${k}: reference ${expected[k]}   pack() ${actual[k]}`);
    }
  }
  return lines.join('\n');
}

/** __pycache__ directories under `dir`. */
function findPycache(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isDirectory() && e.name === '__pycache__')
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

// ---

const Reference = suite('runReference: the real wasm_assets.py 3.11.2');

if (missing) {
  if (process.env.CI) {
    Reference('has its inputs', () => assert.unreachable(missing));
  } else {
    console.log(`reference.test.ts: skipped (${missing})`);
  }
} else {
  Reference('puts the sysconfigdata first and omits what the build configuration rules out', async () => {
    const fx = copyFixture('emscripten-3.11');
    try {
      const ref = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir });
      assert.is(ref.entries[0], SYSCONFIGDATA_PYC);
      assert.is(ref.platform, 'emscripten-wasm32');
      assert.is(ref.sysconfigdataName, '_sysconfigdata__emscripten_wasm32-emscripten');
      for (const e of ['os.pyc', 'json/__init__.pyc', 'asyncio/__init__.pyc', 'urllib/parse.pyc', 'xml/dom/minidom.pyc']) {
        assert.ok(ref.entries.includes(e), `reference should ship ${e}`);
      }
      // _sqlite3 is 'yes' in the sysconfigdata but in MODDISABLED_NAMES: the Makefile wins.
      assert.is(ref.modules._sqlite3, false);
      assert.is(ref.modules.pyexpat, true);
      for (const e of ['sqlite3/__init__.pyc', 'ssl.pyc', 'ctypes/__init__.pyc', 'email/__init__.pyc', 'test/__init__.pyc', 'http/client.pyc']) {
        assert.not.ok(ref.entries.includes(e), `reference should not ship ${e}`);
      }
      // 3.11.2 defines OMIT_SUBDIRS but never uses it: unittest/test/ ships.
      assert.ok(ref.entries.includes('unittest/test/__init__.pyc'));
      assert.ok(ref.entries.every((e) => e.endsWith('.pyc')), 'every entry is a .pyc');
      assert.equal(ref.omitMissing, []);
    } finally {
      fx.done();
    }
  });

  Reference('lets MODDISABLED_NAMES beat MODULE_*_STATE (Setup.local.example build)', async () => {
    const fx = copyFixture('emscripten-3.11-reduced');
    try {
      const ref = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir });
      assert.is(ref.modules._asyncio, false);
      for (const e of ['asyncio/__init__.pyc', 'xml/__init__.pyc', 'zoneinfo/__init__.pyc', 'decimal.pyc', 'wave.pyc', 'crypt.pyc']) {
        assert.not.ok(ref.entries.includes(e), `reference should not ship ${e}`);
      }
      assert.ok(ref.entries.includes('sqlite3/__init__.pyc'), '_sqlite3 is not disabled in this build');
    } finally {
      fx.done();
    }
  });

  Reference('keeps the networking modules when the platform is WASI', async () => {
    const fx = copyFixture('wasi-3.11');
    try {
      const ref = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir });
      assert.is(ref.platform, 'wasi-wasm32');
      assert.is(ref.entries[0], '_sysconfigdata__wasi_wasm32-wasi.pyc');
      for (const e of ['email/__init__.pyc', 'http/client.pyc', 'urllib/request.pyc', 'socketserver.pyc']) {
        assert.ok(ref.entries.includes(e), `reference should ship ${e} for WASI`);
      }
      // Empty MODDISABLED_NAMES; _sqlite3 is 'missing' in this sysconfigdata.
      assert.not.ok(ref.entries.includes('sqlite3/__init__.pyc'));
    } finally {
      fx.done();
    }
  });

  Reference('caches its result per input hash, and a changed input misses the cache', async () => {
    // The first call is answered from the cache the first test filled (same content, other
    // path: the key hashes contents, not paths); the second one must be.
    const fx = copyFixture('emscripten-3.11');
    try {
      const first = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir });
      const again = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir });
      assert.is(again.cached, true);
      assert.equal(again.entries, first.entries);
      const makefile = join(fx.dir, 'Makefile');
      const disabledJson = readFileSync(makefile, 'utf8').replace(/^MODDISABLED_NAMES=/m, 'MODDISABLED_NAMES= _json');
      writeFileSync(makefile, disabledJson);
      const cacheDir = mkdtempSync(join(tmpdir(), 'pywasm-ref-cache-'));
      try {
        const changed = await runReferenceDetailed({ srcdir: cpythonSrcdir, builddir: fx.dir, cacheDir });
        assert.is(changed.cached, false);
        assert.is(changed.modules._json, false);
        assert.not.ok(changed.entries.includes('json/__init__.pyc'));
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    } finally {
      fx.done();
    }
  });
}

Reference.run();

// ---

const Acceptance = suite("pack({ profile: 'cpython' }): same zip entries as wasm_assets.py 3.11.2");

if (!missing) {
  for (const fixture of ['emscripten-3.11', 'emscripten-3.11-reduced', 'wasi-3.11']) {
    Acceptance(`writes the reference's entries in the reference's order (${fixture})`, async () => {
      // Imported here so the reference suites above still run while src/ is incomplete.
      const { pack } = (await import('../src/index.js')) as typeof import('../src/index.js');
      const fx = copyFixture(fixture);
      const out = mkdtempSync(join(tmpdir(), 'pywasm-ref-out-'));
      try {
        const expected = await runReference({ srcdir: cpythonSrcdir, builddir: fx.dir, prefix: '/usr/local' });
        const result = await pack({
          srcdir: cpythonSrcdir,
          builddir: fx.dir,
          profile: 'cpython',
          prefix: '/usr/local',
          out,
          buildPython: 'python3',
          package: false,
          allowSyntaxErrors: true,
        });
        const zip = result.outputs.find((o) => o.kind === 'zip');
        assert.ok(zip, `pack() reported no zip output: ${JSON.stringify(result.outputs)}`);
        assert.is(zip.path, join(out, 'usr/local/lib/python311.zip'));
        const actual = listZipEntries(readFileSync(zip.path));
        const diff = diffEntries(actual, expected);
        assert.ok(diff === '', diff);
        // Same inputs for both: pack() must not have written __pycache__/ into the source tree.
        assert.equal(findPycache(join(cpythonSrcdir, 'Lib')), [], 'pack() wrote into the source tree');
      } finally {
        fx.done();
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
}

Acceptance.run();

// ---

const Acceptance313 = suite("pack({ profile: 'cpython' }): same zip entries as wasm_assets.py 3.13.15");

const missing313 = !existsSync(join(cpython313Srcdir, 'Tools/wasm/wasm_assets.py'))
  ? `no CPython 3.13.15 sources at ${cpython313Srcdir} (bash test/support/fetch-cpython.sh 3.13.15)`
  : !existsSync(python313)
    ? `no native CPython 3.13.15 at ${python313} (bash test/support/build-native-python.sh 3.13.15)`
    : '';

Acceptance313("writes 3.13.15's entries in its order on its own tree, with a real 3.13 build's facts (emscripten-3.13: Pyodide 0.29.5's)", async () => {
  if (missing313) {
    if (process.env.CI) assert.unreachable(`CI: ${missing313}`);
    return console.log(`  skipped: ${missing313}`);
  }
  const { pack } = (await import('../src/index.js')) as typeof import('../src/index.js');
  const fx = copyFixture('emscripten-3.13');
  const out = mkdtempSync(join(tmpdir(), 'pywasm-ref-out-'));
  try {
    const expected = await runReference({ srcdir: cpython313Srcdir, builddir: fx.dir, prefix: '/usr/local', python: python313 });
    assert.is(expected.length, 456, 'the script writes 456 entries for this tree and these facts');
    const result = await pack({ srcdir: cpython313Srcdir, builddir: fx.dir, profile: 'cpython', prefix: '/usr/local', out, buildPython: python313, package: false });
    const actual = listZipEntries(readFileSync(result.outputs.find((o) => o.kind === 'zip')!.path));
    const diff = diffEntries(actual, expected);
    assert.ok(diff === '', diff);
    // 3.13.8+ keeps email/; the rlcompleter rule still holds (readline is 'n/a' there).
    assert.ok(actual.includes('email/__init__.pyc') && !actual.includes('rlcompleter.pyc'));
  } finally {
    fx.done();
    rmSync(out, { recursive: true, force: true });
  }
});

Acceptance313.run();
