/**
 * pack() end to end on the machine's real CPython 3.11 stdlib, with the real
 * python3 as build interpreter; the zip is then imported by python3 (zipimport).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { pack } from '../src/index.js';
import type { PackError, PackResult } from '../src/index.js';

const STDLIB = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-pack-'));

const cacheDir = path.join(tmp, 'cache');
const output = (r: PackResult, kind: string) => r.outputs.find((o) => o.kind === kind)!.path;
const zipNames = (file: string) => Object.keys(unzipSync(fs.readFileSync(file)));

/**
 * Runs python3 isolated, with only `zip` (and the host's lib-dynload, for its extension
 * modules) on sys.path, and returns its JSON answer. sysconfig is pointed at the target's
 * sysconfigdata, which the zip holds (pydoc uses sysconfig on import).
 */
function inPython(zip: string, code: string): any {
  const script = `import sys\nhost = [p for p in sys.path if p.endswith('lib-dynload')]\nsys.path[:] = [${JSON.stringify(zip)}] + host\nimport json\n${code}`;
  const env = { ...process.env, _PYTHON_SYSCONFIGDATA_NAME: '_sysconfigdata__emscripten_wasm32-emscripten' };
  return JSON.parse(execFileSync('python3', ['-I', '-S', '-c', script], { encoding: 'utf8', maxBuffer: 64 << 20, env }));
}

let base: PackResult;

// ---
const embedded = suite('pack: the embedded default (python3 and its own stdlib)');

embedded.before(async () => {
  base = await pack({ out: path.join(tmp, 'a'), cacheDir, cwd: tmp });
});

embedded('writes the zip, the os.py marker, lib-dynload/.empty and a file_packager package', () => {
  const kinds = base.outputs.map((o) => o.kind).sort();
  assert.equal(kinds, ['lib-dynload', 'os.py', 'package-data', 'package-loader', 'package-metadata', 'zip']);
  assert.is(output(base, 'zip'), path.join(tmp, 'a/usr/local/lib/python311.zip'));
  assert.equal(fs.readFileSync(output(base, 'os.py')), fs.readFileSync(path.join(STDLIB, 'os.py')));
  assert.is(fs.statSync(path.join(tmp, 'a/usr/local/lib/python3.11/lib-dynload/.empty')).size, 0);
  assert.is(base.version, '3.11');
  assert.is(base.target, 'emscripten-browser');
  assert.is(base.profile, 'wasm');
});

embedded('ships only .pyc entries, one per kept module, and no test or installed-layout files', () => {
  const names = zipNames(output(base, 'zip'));
  assert.ok(names.length > 350, `${names.length} entries`);
  assert.ok(names.every((n) => n.endsWith('.pyc')), names.filter((n) => !n.endsWith('.pyc')).join(' '));
  assert.is(names.length, base.kept.length);
  for (const bad of [/^test\//, /\/tests?\//, /^site-packages\//, /^lib-dynload\//, /^config-/, /^_sysconfigdata__linux/, /^ensurepip\//, /^tkinter\//]) {
    assert.not.ok(names.some((n) => bad.test(n)), `${bad} in zip`);
  }
  for (const must of ['os.pyc', 'json/__init__.pyc', 'json/decoder.pyc', 'encodings/utf_8.pyc', 'importlib/metadata/__init__.pyc', 'email/message.pyc']) {
    assert.ok(names.includes(must), `${must} missing`);
  }
});

embedded('ships a sysconfigdata for the target, made from the built-in build description', () => {
  const names = zipNames(output(base, 'zip'));
  assert.is(names[0], '_sysconfigdata__emscripten_wasm32-emscripten.pyc');
  assert.not.ok(base.warnings.some((w) => w.code === 'NO_SYSCONFIGDATA'));
  const answer = inPython(
    output(base, 'zip'),
    `import sysconfig, pydoc
v = sysconfig.get_config_vars()
print(json.dumps([v['MACHDEP'], v['LIBDEST'], v['SOABI'], v['MODULE__SSL_STATE'], v['MODULE__JSON_STATE'], sysconfig._get_sysconfigdata_name()]))`,
  );
  assert.equal(answer, ['emscripten', '/usr/local/lib/python3.11', 'cpython-311-wasm32-emscripten', 'missing', 'yes', '_sysconfigdata__emscripten_wasm32-emscripten']);
});

embedded('records a decision with a rule for every omitted file', () => {
  const omitted = base.decisions.filter((d) => d.action === 'omit');
  assert.ok(omitted.length > 0);
  assert.ok(omitted.every((d) => d.rule && d.rule.id && d.rule.reason));
  const ssl = base.omitted.find((o) => o.path === 'ssl.py')!;
  assert.is(ssl.rule, 'ext-ssl');
  assert.match(ssl.evidence!.join(' '), /_ssl is 'missing' in the built-in description/);
  assert.is(base.omitted.find((o) => o.path === 'test/test_os.py')?.rule, 'tests');
});

embedded('the pycs import from the zip with the build interpreter, with in-bundle file names', () => {
  const zip = output(base, 'zip');
  const answer = inPython(
    zip,
    `import json.decoder, email.message, importlib.metadata, asyncio, xml.dom.minidom, zipfile
print(json.dumps({
  "json": json.decoder.__file__,
  "loader": type(json.decoder.__loader__).__name__,
  "co_filename": json.decoder.JSONDecoder.decode.__code__.co_filename,
  "decoded": json.loads('{"a": [1, 2]}'),
}))`,
  );
  assert.is(answer.json, `${zip}/json/decoder.pyc`);
  assert.is(answer.loader, 'zipimporter');
  assert.is(answer.co_filename, '/usr/local/lib/python311.zip/json/decoder.py');
  assert.equal(answer.decoded, { a: [1, 2] });
});

embedded('every shipped module (but __main__ ones) imports from the zip in python3', () => {
  const modules = base.kept.filter((k) => k.origin === 'stdlib' && !/(^|\.)__main__$/.test(k.module)).map((k) => k.module);
  const answer = inPython(
    output(base, 'zip'),
    `import importlib, contextlib, io
failed = {}
for name in ${JSON.stringify(modules)}:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # 'this' prints the Zen of Python
            importlib.import_module(name)
    except BaseException as e:
        failed[name] = repr(e)
print(json.dumps(failed))`,
  );
  // On the host, modules that need a host-only extension still import; nothing may fail.
  assert.equal(answer, {});
});

embedded('is clean under --strict: no warnings, every kept module can import', async () => {
  assert.equal(base.warnings, []);
  const strict = await pack({ out: path.join(tmp, 'strict-wasm'), cacheDir, cwd: tmp, strict: true, package: false });
  assert.is(strict.stats.modules, base.stats.modules);
});

embedded("--strict with --profile cpython fails on the reference's import violations, and writes nothing", async () => {
  const out = path.join(tmp, 'strict-cpython');
  try {
    await pack({ out, cacheDir, cwd: tmp, strict: true, profile: 'cpython' });
    assert.unreachable('--strict should fail');
  } catch (error) {
    const e = error as PackError;
    assert.is(e.code, 'ERR_STRICT');
    assert.match(e.message, /logging\.config imports socketserver, omitted by rule net-socketserver/);
    assert.match(e.message, /xml\.sax\.saxutils imports urllib\.request, omitted by rule net-http/);
    assert.match(e.message, /pty imports tty, which imports termios, an extension module the target lacks/);
  }
  assert.not.ok(fs.existsSync(out), 'a failed run leaves no output');
});

embedded('--json carries the import check verdict of every kept module', async () => {
  assert.ok(base.kept.every((k) => k.importCheck?.verdict === 'imports'), 'the wasm profile ships only modules that import');
  const reference = await pack({ out: path.join(tmp, 'verdicts'), cacheDir, cwd: tmp, profile: 'cpython', package: false });
  const config = reference.kept.find((k) => k.module === 'logging.config')!;
  assert.is(config.importCheck?.verdict, 'fails');
  assert.equal(config.importCheck?.violations?.[0].chain, ['logging.config', 'socketserver']);
  assert.equal(config.importCheck?.violations?.[0].cause, { kind: 'omitted', rule: 'net-socketserver', reason: config.importCheck!.violations![0].cause.reason });
  assert.is(reference.kept.find((k) => k.module === 'json')?.importCheck?.verdict, 'imports');
});

embedded.after(() => {});
embedded.run();

// ---
const repro = suite('pack: reproducible output');

repro('two checkouts at different paths and mtimes give byte-identical outputs', async () => {
  const copy = (dest: string, mtime: Date) => {
    fs.cpSync(STDLIB, dest, {
      recursive: true,
      filter: (src) => !/(site-packages|__pycache__|\/test|idlelib|tkinter|lib2to3|config-3)/.test(src.slice(STDLIB.length)),
    });
    for (const f of ['os.py', 'json/decoder.py', 'abc.py']) fs.utimesSync(path.join(dest, f), mtime, mtime);
  };
  copy(path.join(tmp, 'lib1'), new Date('2001-01-01'));
  copy(path.join(tmp, 'lib2'), new Date('2024-06-01'));
  const r1 = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'r1'), cache: false, jobs: 1 });
  const r2 = await pack({ lib: path.join(tmp, 'lib2'), out: path.join(tmp, 'r2'), cacheDir, jobs: 2 });
  for (const kind of ['zip', 'package-data', 'package-metadata', 'package-loader']) {
    assert.ok(fs.readFileSync(output(r1, kind)).equals(fs.readFileSync(output(r2, kind))), `${kind} differs`);
  }
});

repro('SOURCE_DATE_EPOCH sets the zip entry times', async () => {
  const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'r3'), cacheDir, sourceDateEpoch: 1700000000, package: false });
  const answer = inPython(output(r, 'zip'), `import zipfile\nz = zipfile.ZipFile(${JSON.stringify(output(r, 'zip'))})\nprint(json.dumps(sorted({i.date_time for i in z.infolist()})))`);
  assert.equal(answer, [[2023, 11, 14, 22, 13, 20]]);
});

repro.run();

// ---
const opts = suite('pack: compile and output options');

opts('--add puts a module and a package at the zip root, compiled, whatever --omit says', async () => {
  const extra = path.join(tmp, 'extra');
  fs.mkdirSync(path.join(extra, 'mypkg/sub'), { recursive: true });
  fs.writeFileSync(path.join(extra, 'startup.py'), 'VALUE = 42\n');
  fs.writeFileSync(path.join(extra, 'mypkg/__init__.py'), 'from .sub import x\n');
  fs.writeFileSync(path.join(extra, 'mypkg/sub/__init__.py'), 'x = "sub"\n');
  fs.writeFileSync(path.join(extra, 'mypkg/notes.txt'), 'data\n');
  const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'r4'), cacheDir, add: [path.join(extra, 'startup.py'), path.join(extra, 'mypkg')], omit: ['**/startup.py', 'mypkg/**'], package: false });
  const names = zipNames(output(r, 'zip'));
  for (const n of ['startup.pyc', 'mypkg/__init__.pyc', 'mypkg/sub/__init__.pyc']) assert.ok(names.includes(n), n);
  const answer = inPython(output(r, 'zip'), 'import startup, mypkg\nprint(json.dumps([startup.VALUE, mypkg.x]))');
  assert.equal(answer, [42, 'sub']);
  assert.equal(r.kept.filter((k) => k.origin === 'add').map((k) => k.entry), ['startup.pyc', 'mypkg/__init__.pyc', 'mypkg/sub/__init__.pyc']);
});

opts('--sources both ships .py beside .pyc; --sources py ships only sources', async () => {
  const both = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'r5'), cacheDir, sources: 'both', package: false });
  const names = zipNames(output(both, 'zip'));
  assert.ok(names.includes('json/decoder.py') && names.includes('json/decoder.pyc'));
  assert.ok(names.indexOf('json/decoder.py') < names.indexOf('json/decoder.pyc'));
  const py = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'r6'), cacheDir, sources: 'py', package: false });
  assert.ok(zipNames(output(py, 'zip')).every((n) => n.endsWith('.py')));
});

opts('--invalidation sets the PEP 552 flags; --optimize 2 strips docstrings', async () => {
  for (const [invalidation, flags] of [['unchecked-hash', 1], ['checked-hash', 3], ['timestamp', 0]] as const) {
    const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, `inv-${invalidation}`), cacheDir, invalidation, package: false });
    const pyc = unzipSync(fs.readFileSync(output(r, 'zip')))['json/decoder.pyc'];
    assert.is(pyc[4] | (pyc[5] << 8) | (pyc[6] << 16) | (pyc[7] << 24), flags, invalidation);
  }
  const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'opt2'), cacheDir, optimize: 2, package: false });
  const answer = inPython(output(r, 'zip'), 'import json\nprint(json.dumps(json.__doc__))');
  assert.is(answer, null);
});

opts('--compression stored writes STORED entries zipimport reads', async () => {
  const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'st'), cacheDir, compression: 'stored', package: false });
  const answer = inPython(output(r, 'zip'), `import zipfile, json.decoder\nz = zipfile.ZipFile(${JSON.stringify(output(r, 'zip'))})\nprint(json.dumps(sorted({i.compress_type for i in z.infolist()})))`);
  assert.equal(answer, [0]);
});

opts('--target wasi with the embedded default keeps networking modules (synchronous I/O is an Emscripten limit)', async () => {
  const r = await pack({ lib: path.join(tmp, 'lib1'), out: path.join(tmp, 'wasi'), cacheDir, target: 'wasi' });
  assert.ok(r.kept.some((k) => k.module === 'smtplib'));
  assert.not.ok(r.outputs.some((o) => o.kind === 'package-data'), 'no file_packager package for wasi');
  // The built-in description is of an Emscripten build: no sysconfigdata is made up for WASI.
  assert.ok(r.warnings.some((w) => w.code === 'NO_SYSCONFIGDATA'));
  assert.not.ok(r.kept.some((k) => k.origin === 'sysconfigdata'));
});

opts.run();

// ---
const installed = suite('pack: an installed lib/python3.X (Debian layout)');
const DEBIAN = path.resolve('.cache/debian-stdlib/usr/lib/python3.11');

installed('site-packages, dist-packages, lib-dynload, config-* and the host sysconfigdata never ship', async () => {
  // An installed layout in tmp: Debian's stdlib when fetched (.ci/run does), else python3's own; plus the
  // directories an installed Python holds besides the stdlib.
  const src = fs.existsSync(path.join(DEBIAN, 'os.py')) ? DEBIAN : STDLIB;
  const lib = path.join(tmp, 'installed/lib/python3.11');
  fs.cpSync(src, lib, { recursive: true, filter: (p) => !/(site-packages|__pycache__|\/test\/|config-3)/.test(p.slice(src.length)) });
  for (const dir of ['site-packages/foo', 'dist-packages/bar', 'lib-dynload', 'config-3.11-x86_64-linux-gnu']) fs.mkdirSync(path.join(lib, dir), { recursive: true });
  fs.writeFileSync(path.join(lib, 'site-packages/foo/__init__.py'), 'x = 1\n');
  fs.writeFileSync(path.join(lib, 'dist-packages/bar/__init__.py'), 'x = 1\n');
  fs.writeFileSync(path.join(lib, 'lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so'), 'ELF');
  fs.writeFileSync(path.join(lib, 'config-3.11-x86_64-linux-gnu/python-config.py'), 'x = 1\n');
  fs.writeFileSync(path.join(lib, '_sysconfigdata__linux_x86_64-linux-gnu.py'), "build_time_vars = {}\n");
  const r = await pack({ lib, out: path.join(tmp, 'inst-out'), cacheDir, package: false });
  const names = zipNames(output(r, 'zip'));
  assert.not.ok(names.some((n) => /^(site-packages|dist-packages|lib-dynload|config-3)|^_sysconfigdata__linux/.test(n)), 'installed-layout entries shipped');
  // Those directories are not walked: one decision each.
  for (const p of ['site-packages/', 'dist-packages/', 'lib-dynload/', 'config-3.11-x86_64-linux-gnu/', '_sysconfigdata__linux_x86_64-linux-gnu.py']) {
    assert.is(r.decisions.find((d) => d.path === p)?.rule?.id, 'installed-layout', p);
  }
  assert.not.ok(r.decisions.some((d) => d.path.startsWith('site-packages/foo')));
  assert.ok(names.includes('json/decoder.pyc'));
  // A --keep glob that reaches into a pruned directory makes it walked again (it still cannot ship: no package).
  const kept = await pack({ lib, out: path.join(tmp, 'inst-out2'), cacheDir, package: false, keep: ['site-packages/**'] });
  assert.is(kept.decisions.find((d) => d.path === 'site-packages/foo/__init__.py')?.rule?.id, 'structure/not-a-package');
  assert.ok(kept.decisions.some((d) => d.path === 'dist-packages/'));
  // `--keep '**'` means every stdlib file; those directories are not the stdlib and stay unwalked.
  const all = await pack({ lib, out: path.join(tmp, 'inst-out3'), cacheDir, package: false, keep: ['**'], allowSyntaxErrors: true });
  assert.ok(all.decisions.some((d) => d.path === 'site-packages/' && d.rule?.id === 'installed-layout'));
  assert.not.ok(all.decisions.some((d) => d.path.startsWith('site-packages/foo')));
});

installed.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
installed.run();
