// WASI, proven in a real runtime (issue 11): CPython 3.11.2 cross-compiled for
// wasm32-wasi (test/support/build-wasi-python.sh, two builds: without zlib as the WASI
// SDK has it, and with zlib) run by Node's node:wasi with only pywasm-assets' output
// directory mapped as `/` (test/support/wasi.ts). The default output of each build root
// boots and every shipped module imports, in one interpreter and each in a fresh one;
// every omitted module raises ModuleNotFoundError; the zlib-less target gets a stored zip
// and refuses an explicit deflate; `--profile cpython` equals the real wasm_assets.py on
// the same build root.
// Needs both builds (~5 min from cold, once per CI run); under CI their absence fails.
// Cost: two packs (~3 s each warm), importEach of ~440 modules per build (~10-20 s each).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import type { PackResult } from '../src/types.js';
import { rejectsPackError, skip } from './helpers.js';
import { isSkipped, moduleName, outermostModules, zipModules } from './support/pyodide.js';
import { cpythonSrcdir, listZipEntries, runReference } from './support/reference.js';
import { importAllWasi, importEachWasi, importOmittedWasi, missingWasi, runWasi, tracebackFiles, wasiBuild, WASI_ZIP, type WasiVariant } from './support/wasi.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-wasi-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const LIB = join(cpythonSrcdir, 'Lib');
/** The build interpreter of both builds (their Makefile's PYTHON_FOR_BUILD). */
const PYTHON = '/usr/bin/python3.11';

const packs = new Map<string, Promise<{ result: PackResult; out: string }>>();
function packed(variant: WasiVariant, name = 'default', extra: Record<string, unknown> = {}) {
  const key = `${variant}-${name}`;
  if (!packs.has(key)) {
    const out = join(tmp, key);
    packs.set(key, pack({ builddir: wasiBuild(variant)!.builddir, lib: LIB, buildPython: PYTHON, out, cacheDir: join(tmp, 'cache'), ...extra }).then((result) => ({ result, out })));
  }
  return packs.get(key)!;
}

const shipped = (result: PackResult) => [...new Set(result.kept.map((k) => k.module))].filter((m) => !isSkipped(m)).sort();
const omitted = (result: PackResult) => outermostModules(result.omitted.map((o) => moduleName(o.path)).filter((m): m is string => m !== undefined));

function guard(variant: WasiVariant): string | null {
  const why = missingWasi(variant);
  if (why && process.env.CI) assert.unreachable(`CI: ${why}`);
  return why;
}

for (const variant of ['nozlib', 'zlib'] as const) {
  const s = suite(`WASI (${variant === 'nozlib' ? 'no zlib, as the WASI SDK builds it' : 'with zlib'}): the default output in node:wasi`);

  s(`the zip is ${variant === 'nozlib' ? 'stored (the summary says why)' : 'deflated'}, and the interpreter boots from it alone`, async () => {
    if (guard(variant)) return skip(guard(variant)!);
    const { result, out } = await packed(variant);
    assert.is(result.target, 'wasi');
    assert.is(result.compression.method, variant === 'nozlib' ? 'stored' : 'deflate');
    if (variant === 'nozlib') assert.match(result.compression.reason!, /no zlib \(MODULE_ZLIB_STATE = 'missing' in /);
    else assert.is(result.compression.reason, undefined);
    assert.equal(result.outputs.map((o) => o.kind).sort(), ['lib-dynload', 'os.py', 'zip'], 'no file_packager package for WASI');
    const run = await runWasi(wasiBuild(variant)!.wasm, out, ['-c', 'import sys, sysconfig, json; print(sys.prefix, sys.path[1], sysconfig.get_platform(), json.__file__)']);
    assert.is(run.status, 0, run.stderr);
    assert.is(run.stdout.trim(), `/usr/local ${WASI_ZIP} wasi-0.0.0-wasm32 ${WASI_ZIP}/json/__init__.pyc`);
  });

  s('every shipped module imports: all in one interpreter, and each in a fresh one', async () => {
    if (guard(variant)) return skip(guard(variant)!);
    const { result, out } = await packed(variant);
    const modules = shipped(result);
    // The zip holds them all (the sysconfigdata's name is no identifier: importlib imports it, zipModules skips it).
    assert.equal(modules.filter((m) => !m.includes('-')), zipModules(join(out, 'usr/local/lib/python311.zip')).filter((m) => !isSkipped(m)));
    const wasm = wasiBuild(variant)!.wasm;
    const started = performance.now();
    const all = await importAllWasi(wasm, out, modules);
    const allMs = Math.round(performance.now() - started);
    const each = await importEachWasi(wasm, out, modules);
    console.log(`  WASI ${variant}: ${modules.length} shipped; one interpreter ${all.ok.length} import (${allMs} ms), fresh interpreters ${each.ok.length} import (${Math.round(performance.now() - started - allMs)} ms)`);
    assert.equal(all.failed, []);
    assert.equal(each.failed, []);
    assert.ok(modules.length > 400);
  });

  s('every omitted module raises ModuleNotFoundError', async () => {
    if (guard(variant)) return skip(guard(variant)!);
    const { result, out } = await packed(variant);
    const report = await importOmittedWasi(wasiBuild(variant)!.wasm, out, omitted(result));
    assert.equal(report.wrong, []);
    assert.ok(report.missing.includes('test') && report.missing.includes('ctypes'), report.missing.join(' '));
  });

  s('sysconfig, site, -m json.tool, and a traceback that names the in-bundle path', async () => {
    if (guard(variant)) return skip(guard(variant)!);
    const { out } = await packed(variant);
    const wasm = wasiBuild(variant)!.wasm;
    const tool = await runWasi(wasm, out, ['-m', 'json.tool'], { stdin: '{"b": [1, 2], "a": null}' });
    assert.is(tool.status, 0, tool.stderr);
    assert.is(tool.stdout, '{\n    "b": [\n        1,\n        2\n    ],\n    "a": null\n}\n');
    const site = await runWasi(wasm, out, ['-c', "import site, sysconfig; print(sysconfig.get_config_var('MACHDEP'), 'site' in __import__('sys').modules)"]);
    assert.is(site.stdout.trim(), 'wasi True', site.stderr);
    const tb = await runWasi(wasm, out, ['-c', 'import json; json.loads("{")']);
    assert.is(tb.status, 1);
    assert.ok(tracebackFiles(tb.stderr).includes(`${WASI_ZIP}/json/decoder.py`), tb.stderr);
  });

  s.run();
}

// ---
const refused = suite('WASI without zlib: output it could not load is refused');

refused('--compression deflate fails with ERR_UNLOADABLE and writes nothing; the deflated zip really dies at start-up', async () => {
  if (guard('nozlib')) return skip(guard('nozlib')!);
  const build = wasiBuild('nozlib')!;
  const out = join(tmp, 'refused');
  await rejectsPackError(() => pack({ builddir: build.builddir, lib: LIB, buildPython: PYTHON, out, compression: 'deflate', cacheDir: join(tmp, 'cache') }), 'ERR_UNLOADABLE', "--compression deflate: the target has no zlib (MODULE_ZLIB_STATE = 'missing' in");
  // What it prevents: the zlib build's (deflated) output in the zlib-less interpreter.
  const { out: deflated } = await packed('zlib');
  const run = await runWasi(build.wasm, deflated, ['-c', 'pass']);
  assert.is.not(run.status, 0);
  assert.match(run.stderr, /can't decompress data; zlib not available/);
});

refused.run();

// ---
const reference = suite("WASI: --profile cpython equals the real wasm_assets.py on the build root");

reference('the zip entry list is the reference script\'s, order included, and its warnings name exactly the modules that fail', async () => {
  if (guard('nozlib')) return skip(guard('nozlib')!);
  const build = wasiBuild('nozlib')!;
  const { result, out } = await packed('nozlib', 'cpython', { profile: 'cpython' });
  const expected = await runReference({ srcdir: cpythonSrcdir, builddir: build.builddir, python: PYTHON });
  assert.equal(listZipEntries(readFileSync(join(out, 'usr/local/lib/python311.zip'))), expected);
  const predicted = result.warnings.filter((w) => w.code === 'IMPORT_UNAVAILABLE').map((w) => w.module!).sort();
  const report = await importAllWasi(build.wasm, out, shipped(result));
  assert.equal(report.failed.map((f) => f.module).sort(), predicted);
  assert.ok(predicted.length > 0);
});

reference.run();

