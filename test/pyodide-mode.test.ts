/**
 * The Pyodide mode's parts, without booting a Pyodide: its options and their errors, the
 * reading of a distribution's sysconfigdata among its code, the stdlib's extraction, the
 * import check's pyodide profile (on Pyodide 0.25.1 with the native python3.11), and
 * --precompress. The runtime proofs are test/pyodide-dropin-*.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { unzipSync, zipSync, strToU8 } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { explain, pack } from '../src/index.js';
import { parsePythonDictLiteral, readDictAmidCode, LiteralError } from '../src/pipeline/build-facts/literal.js';
import { extractStdlib } from '../src/pyodide/distribution.js';
import { precompressFiles } from '../src/output/precompress.js';
import { havePython, makeFs, rejectsPackError, skip } from './helpers.js';
import { PYODIDE } from './support/pyodide.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-pyodide-mode-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = join(tmp, 'cache');
const P025 = PYODIDE['3.11'];
const P029 = PYODIDE['3.13'];
const SYSCONFIGDATA = '_sysconfigdata__emscripten_wasm32-emscripten.py';
const sysconfigdataOf = (zip: string) => unzipSync(readFileSync(zip), { filter: (f) => f.name === SYSCONFIGDATA })[SYSCONFIGDATA];

// ---
const options = suite('Pyodide mode: options');

options('options that the distribution decides are refused with --pyodide, each naming the flag', async () => {
  for (const [extra, flag] of [[{ lib: '/x' }, '--lib'], [{ srcdir: '/x' }, '--srcdir'], [{ builddir: '/x' }, '--builddir'], [{ sysconfigdata: '/x' }, '--sysconfigdata'], [{ prefix: '/usr' }, '--prefix']] as const) {
    await rejectsPackError(() => pack({ pyodide: P025.dir, cacheDir, ...extra }), 'ERR_OPTION', `${flag} cannot be combined with --pyodide`);
  }
  await rejectsPackError(() => pack({ pyodide: P025.dir, cacheDir, profile: 'wasm' }), 'ERR_OPTION', '--profile wasm cannot be combined with --pyodide');
  await rejectsPackError(() => pack({ pyodide: P025.dir, cacheDir, target: 'wasi' }), 'ERR_OPTION', '--target wasi cannot be combined');
  await rejectsPackError(() => pack({ pyodide: P025.dir, cacheDir, package: 'python' }), 'ERR_OPTION', '--package python cannot be combined');
  await rejectsPackError(() => pack({ profile: 'pyodide', cacheDir }), 'ERR_OPTION', '--profile pyodide is the Pyodide mode');
  await rejectsPackError(() => pack({ target: 'pyodide', cacheDir }), 'ERR_OPTION', '--target pyodide');
  await rejectsPackError(() => pack({ pyodide: '', cacheDir }), 'ERR_OPTION', '--pyodide must name a directory');
});

options('a directory that is no Pyodide distribution: ERR_PYODIDE, saying what is missing', async () => {
  await rejectsPackError(() => pack({ pyodide: join(tmp, 'nowhere'), cacheDir }), 'ERR_PYODIDE', `there is no directory ${join(tmp, 'nowhere')}`);
  mkdirSync(join(tmp, 'empty'));
  await rejectsPackError(() => pack({ pyodide: join(tmp, 'empty'), cacheDir }), 'ERR_PYODIDE', 'has no python_stdlib.zip');
});

options("a build interpreter of another version than the distribution's CPython: ERR_PYTHON_VERSION", async () => {
  if (!havePython()) return skip('no python3');
  await rejectsPackError(() => pack({ pyodide: P029.dir, buildPython: 'python3', cacheDir }), 'ERR_PYTHON_VERSION', 'Pyodide 0.29.5 runs CPython 3.13.2', 'is Python 3.11');
});

options('--precompress takes br and gz only', async () => {
  await rejectsPackError(() => pack({ precompress: ['zstd' as 'br'], cacheDir }), 'ERR_OPTION', '--precompress takes br, gz', '"zstd"');
});

options('errors carry a hint that says what to pass', async () => {
  const e = await rejectsPackError(() => pack({ pyodide: join(tmp, 'nowhere'), cacheDir }), 'ERR_PYODIDE');
  assert.match(e.hint!, /--pyodide <the directory of an installed npm package pyodide/);
  const v = await rejectsPackError(() => pack({ pyodide: P029.dir, buildPython: 'python3', cacheDir }), 'ERR_PYTHON_VERSION');
  assert.match(v.hint!, /--build-python python3\.13/);
});

// ---
const facts = suite('Pyodide mode: the sysconfigdata among its code');

facts("reads every release's sysconfigdata, which the strict reader refuses from 0.27 on", () => {
  for (const release of Object.values(PYODIDE)) {
    const source = sysconfigdataOf(release.stdlibZip);
    const vars = readDictAmidCode(source, 'build_time_vars');
    assert.is(vars.get('VERSION'), release.python.split('.').slice(0, 2).join('.'));
    assert.is(vars.get('MODULE_ZLIB_STATE'), 'yes');
    assert.is(vars.get('MACHDEP'), 'emscripten');
    if (release.release !== '0.25.1') {
      assert.is(String(vars.get('prefix')), `{PYODIDE_ROOT}/cpython/installs/python-${release.python}`, 'an f-string: its text, fields unexpanded');
      assert.throws(() => parsePythonDictLiteral(source, 'build_time_vars'), (e: unknown) => e instanceof LiteralError);
    }
  }
});

facts('passes over code before and after the dict without running it; f-strings are their text', () => {
  const vars = readDictAmidCode("raise SystemExit('never run')\nimport os\nbuild_time_vars = {'A': f'{X}/lib', 'B': 2, 'C': rf'\\d{Y}'}\nos.system('never run either')\n", 'build_time_vars');
  assert.equal([...vars], [['A', '{X}/lib'], ['B', 2], ['C', '\\d{Y}']]);
});

facts('no unindented `build_time_vars = {` line: a LiteralError', () => {
  assert.throws(() => readDictAmidCode('import os\n  build_time_vars = {}\n', 'build_time_vars'), (e: unknown) => e instanceof LiteralError && /no line "build_time_vars = \{"/.test(e.message));
  assert.throws(() => readDictAmidCode('build_time_vars = {"a": f(1)}\n', 'build_time_vars'), (e: unknown) => e instanceof LiteralError);
});

// ---
const extract = suite('Pyodide mode: the stdlib extracted');

extract('once per zip (content-addressed), atomically; entry names that would leave the directory are refused', () => {
  const fs = makeFs({});
  const zip = zipSync({ 'os.py': strToU8('# os'), 'json/__init__.py': strToU8('') });
  const dir = extractStdlib(zip, '3.11.3', '/cache/pyodide-stdlib', fs);
  assert.match(dir, /^\/cache\/pyodide-stdlib\/python-3\.11\.3-[0-9a-f]{16}$/);
  assert.is(String(fs.readFileSync(join(dir, 'os.py'), 'utf8')), '# os');
  fs.writeFileSync(join(dir, 'marker'), 'kept');
  assert.is(extractStdlib(zip, '3.11.3', '/cache/pyodide-stdlib', fs), dir, 'the same zip: the same directory, not extracted again');
  assert.ok(fs.existsSync(join(dir, 'marker')));
  for (const bad of ['../escape.py', '/abs.py', 'a/./b.py']) {
    assert.throws(() => extractStdlib(zipSync({ [bad]: strToU8('x') }), '3.11.3', '/cache/pyodide-stdlib', fs), /unsafe entry name/);
  }
  assert.equal(fs.readdirSync('/cache/pyodide-stdlib').map(String), [dir.split('/').pop()], 'nothing half-extracted left');
});

// ---
const profile = suite('Pyodide mode: the pyodide profile (Pyodide 0.25.1, native python3.11)');

profile('keeps every module the distribution ships; only data files and the duplicate sysconfigdata are omitted', async () => {
  if (!havePython()) return skip('no python3.11');
  const result = await explain({ pyodide: P025.dir, buildPython: 'python3.11', cacheDir });
  const omitted = result.decisions.filter((d) => d.action === 'omit');
  assert.equal(
    omitted.map((d) => `${d.path} ${d.rule?.id}`),
    [
      '_pyodide/py.typed structure/data-file',
      `${SYSCONFIGDATA} pyodide-sysconfigdata`,
      'ctypes/macholib/README.ctypes structure/data-file',
      'ctypes/macholib/fetch_macholib structure/data-file',
      'ctypes/macholib/fetch_macholib.bat structure/data-file',
      'pyodide/py.typed structure/data-file',
      'site-packages/README.txt structure/data-file',
    ],
  );
  assert.is(result.target, 'pyodide');
  assert.equal(result.warnings, []);
});

profile('--omit drops what imports the omitted modules (import closure), and nothing the build facts call missing', async () => {
  if (!havePython()) return skip('no python3.11');
  const result = await pack({ pyodide: P025.dir, buildPython: 'python3.11', omit: ['email/'], out: join(tmp, 'omit'), cacheDir });
  const byPath = new Map(result.decisions.map((d) => [d.path, d]));
  const client = byPath.get('http/client.py')!;
  assert.is(client.action, 'omit');
  assert.is(client.rule?.id, 'import-closure');
  assert.match(client.rule!.reason, /omitted by rule cli-omit/);
  // The facts say _ctypes and _sqlite3 are missing (sysconfigdata), yet Pyodide has them or loads them.
  for (const kept of ['ctypes/__init__.py', 'sqlite3/__init__.py', 'hashlib.py', 'pyodide/http.py']) {
    if (byPath.has(kept)) assert.is(byPath.get(kept)!.action, 'keep', kept);
  }
  assert.ok(result.kept.some((k) => k.module === 'ctypes'));
  assert.ok(result.kept.every((k) => k.importCheck?.verdict !== 'fails'));
  assert.equal(result.outputs.map((o) => o.path), [join(tmp, 'omit', 'python_stdlib.zip')]);
  assert.is(result.kept[0].origin, 'sysconfigdata');
  assert.is(Object.keys(unzipSync(readFileSync(result.outputs[0].path)))[0], '_sysconfigdata__emscripten_wasm32-emscripten.pyc');
});

// ---
const pre = suite('--precompress');

const blob = () => {
  const parts: string[] = [];
  for (let i = 0; i < 20000; i++) parts.push(`line ${i} ${'abcdefghij'.slice(i % 10)}\n`);
  return strToU8(parts.join(''));
};

pre('Brotli and gzip copies that decompress to the output, byte-identical from run to run, gzip without time and with OS Unix', async () => {
  const data = blob();
  const files = [
    { path: '/out/python_stdlib.zip', data, kind: 'zip' as const },
    { path: '/out/x.js', data: 'loader', kind: 'package-loader' as const },
  ];
  const a = await precompressFiles(files, ['br', 'gz'], makeFs({}));
  const b = await precompressFiles(files, ['br', 'gz'], makeFs({}));
  assert.equal(a.map((c) => [c.path, c.of, c.encoding]), [['/out/python_stdlib.zip.br', '/out/python_stdlib.zip', 'br'], ['/out/python_stdlib.zip.gz', '/out/python_stdlib.zip', 'gz']], 'copies of the zip and the .data only');
  assert.equal(brotliDecompressSync(a[0].data as Uint8Array), Buffer.from(data));
  assert.equal(gunzipSync(a[1].data as Uint8Array), Buffer.from(data));
  assert.equal(Buffer.from(a[0].data as Uint8Array), Buffer.from(b[0].data as Uint8Array));
  assert.equal(Buffer.from(a[1].data as Uint8Array), Buffer.from(b[1].data as Uint8Array));
  const gz = a[1].data as Uint8Array;
  assert.equal([...gz.subarray(4, 8)], [0, 0, 0, 0], 'MTIME 0');
  assert.is(gz[9], 3, 'OS Unix');
});

pre('a cached copy is used only when it decompresses to the output; a damaged one is made again; the cache keeps 16', async () => {
  const fs = makeFs({});
  const data = blob();
  const file = { path: '/out/python_stdlib.zip', data, kind: 'zip' as const };
  const first = await precompressFiles([file], ['br'], fs, '/cache');
  const [name] = fs.readdirSync('/cache/precompressed').map(String);
  assert.match(name, /^[0-9a-f]{64}\.br$/);
  fs.writeFileSync(`/cache/precompressed/${name}`, Buffer.from('damaged'));
  const again = await precompressFiles([file], ['br'], fs, '/cache');
  assert.equal(Buffer.from(again[0].data as Uint8Array), Buffer.from(first[0].data as Uint8Array));
  assert.equal(Buffer.from(fs.readFileSync(`/cache/precompressed/${name}`)), Buffer.from(first[0].data as Uint8Array), 'the damaged copy replaced');
  for (let i = 0; i < 20; i++) await precompressFiles([{ ...file, data: strToU8(`other ${i}`) }], ['gz'], fs, '/cache');
  assert.is(fs.readdirSync('/cache/precompressed').length, 16);
});

pre('pack --precompress writes NAME.br and NAME.gz beside the zip and the .data, listed as outputs', async () => {
  if (!havePython()) return skip('no python3');
  const out = join(tmp, 'pre');
  const result = await pack({ out, cacheDir, precompress: ['gz', 'br'], cwd: tmp });
  const copies = result.outputs.filter((o) => o.kind === 'precompressed');
  const zip = result.outputs.find((o) => o.kind === 'zip')!.path;
  const data = result.outputs.find((o) => o.kind === 'package-data')!.path;
  assert.equal(copies.map((c) => [c.path, c.of, c.encoding]), [[`${zip}.br`, zip, 'br'], [`${zip}.gz`, zip, 'gz'], [`${data}.br`, data, 'br'], [`${data}.gz`, data, 'gz']]);
  assert.equal(gunzipSync(readFileSync(`${data}.gz`)), readFileSync(data));
  assert.equal(brotliDecompressSync(readFileSync(`${zip}.br`)), readFileSync(zip));
  assert.ok(readdirSync(out).includes('python-stdlib.data.br'));
});

options.run();
facts.run();
extract.run();
profile.run();
pre.run();
