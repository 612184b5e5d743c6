// A Pyodide distribution as build interpreter (src/pyodide-host.ts behind
// src/interpreter/), and the worker's independence from the process it runs in
// (src/python/worker.py, Reproducibility), which makes Pyodide's pycs equal to a
// native interpreter's.
//
// Needs the Pyodide releases of test/support/pyodide.ts (devDependencies) and,
// for the comparisons, native interpreters: python3.11..3.14 on PATH, pyenv's
// versions, .cache/python-*/ (test/support/build-native-python.sh). What is
// missing is skipped with a message, except under CI, where a missing Pyodide
// or python3.11 fails. CPython 3.11.2's Lib/ (.cache/cpython-3.11.2) is used
// for the end-to-end pack when present.
// Cost: ~55 s on the 2-core machine beside other work (load ~3.5): a Pyodide worker
// takes ~3 CPU-s to start (11 starts), compiling runs 2-3x slower than native; the
// pack of CPython 3.11.2's Lib/ (429 modules) through Pyodide takes ~10 s, natively ~2 s.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { pack } from '../src/index.js';
import {
  CompilerPool,
  probeInterpreter,
  pyodideDirOf,
  pythonVersionForMagic,
  workerScript,
  type CompileItem,
  type CompileOutcome,
  type InterpreterInfo,
} from '../src/interpreter/index.js';
import { REPO, rejectsPackError } from './helpers.js';
import { PYODIDE, type PyodideRelease } from './support/pyodide.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-pyodide-compiler-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = join(tmp, 'cache');
const CPYTHON_LIB = join(REPO, '.cache/cpython-3.11.2/Lib');
const settings = { optimize: 0 as const, invalidation: 'unchecked-hash' as const, imports: false };

const releases = Object.values(PYODIDE).filter((r) => existsSync(join(r.dir, 'pyodide.mjs')));
const missingPyodide = Object.values(PYODIDE).filter((r) => !releases.includes(r)).map((r) => `${r.pkg}@${r.release}`);

/** `{ '3.11': '/usr/bin/python3.11', ... }`: one working native interpreter per minor version. */
function nativePythons(): Record<string, string> {
  const candidates = ['python3.11', 'python3.12', 'python3.13', 'python3.14'];
  for (const root of [join(homedir(), '.pyenv/versions'), join(REPO, '.cache')]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const bin = join(root, name, 'bin');
      if (!existsSync(bin)) continue;
      for (const exe of readdirSync(bin)) if (/^python3\.1[1-4]$/.test(exe)) candidates.push(join(bin, exe));
    }
  }
  const found: Record<string, string> = {};
  for (const exe of candidates) {
    const run = spawnSync(exe, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    const minor = run.status === 0 ? run.stdout.trim() : '';
    if (minor && !found[minor]) found[minor] = exe;
  }
  return found;
}
const natives = nativePythons();

if (process.env.CI && (missingPyodide.length > 0 || !natives['3.11'])) {
  const requirements = suite('pyodide-compiler: requirements');
  requirements('the Pyodide releases and python3.11 are installed (npm ci; .ci/run)', () =>
    assert.unreachable(`missing: ${[...missingPyodide, ...(natives['3.11'] ? [] : ['python3.11'])].join(', ')}`),
  );
  requirements.run();
} else if (missingPyodide.length > 0) {
  console.log(`  pyodide-compiler: skipping ${missingPyodide.join(', ')} (not installed)`);
}

const enc = (text: string) => new TextEncoder().encode(text);
const item = (name: string, source: string | Uint8Array, zip = '/usr/local/lib/python3.zip'): CompileItem => ({
  path: name,
  filename: `${zip}/${name}`,
  source: typeof source === 'string' ? enc(source) : source,
});
const pycOf = (outcome: CompileOutcome): Uint8Array => {
  if (!outcome.ok) throw new Error(`compile failed: ${outcome.error.message}`);
  return outcome.pyc;
};
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Each release's probe answer, once per file (extracts its stdlib below `cacheDir`). */
const probes = new Map<PyodideRelease, Promise<InterpreterInfo>>();
const probe = (r: PyodideRelease) => {
  if (!probes.has(r)) probes.set(r, probeInterpreter(r.dir, { cacheDir }));
  return probes.get(r)!;
};

/** A fake distribution below tmp: `files` (relative path → text or bytes). */
function fakeDistribution(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(tmp, name);
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
  }
  return dir;
}

/** The files a static probe reads: a lock naming CPython 3.11.3 and a stdlib zip stating magic 3495. */
const STATIC_311 = {
  'package.json': JSON.stringify({ name: 'pyodide', version: '0.0.0-fake' }),
  'pyodide-lock.json': JSON.stringify({ info: { python: '3.11.3', version: '0.0.0-fake' }, packages: {} }),
  'python_stdlib.zip': zipSync({
    'os.py': enc('# os\n'),
    'importlib/_bootstrap_external.py': enc("MAGIC_NUMBER = (3495).to_bytes(2, 'little') + b'\\r\\n'\n"),
  }),
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// ---
const dirOf = suite('pyodideDirOf');

dirOf('names a distribution by its directory or its pyodide.mjs, and nothing for a program', () => {
  const dir = fakeDistribution('names', { 'pyodide.mjs': 'export {}\n' });
  assert.is(pyodideDirOf(dir), dir);
  assert.is(pyodideDirOf(join(dir, 'pyodide.mjs')), dir);
  assert.is(pyodideDirOf('names', tmp), undefined, 'a bare name is a program on PATH');
  assert.is(pyodideDirOf('./names', tmp), dir);
  assert.is(pyodideDirOf(process.execPath), undefined);
  assert.is(pyodideDirOf(join(tmp, 'no-such-thing')), undefined);
});

dirOf('a directory without pyodide.mjs is ERR_PYTHON_NOT_FOUND, before anything starts', async () => {
  const dir = fakeDistribution('empty-dir', { 'README.md': 'not pyodide\n' });
  await rejectsPackError(() => probeInterpreter(dir), 'ERR_PYTHON_NOT_FOUND', `Build interpreter "${dir}" is a directory without pyodide.mjs`);
});

dirOf.run();

// ---
const probing = suite('probeInterpreter: a Pyodide distribution');

probing("answers each release's CPython version and magic from its files, without starting it", async () => {
  for (const r of releases) {
    const started = performance.now();
    const info = await probe(r);
    const ms = performance.now() - started;
    assert.is(info.version, r.python);
    assert.is(info.pyodide, r.release);
    assert.is(info.resolved, r.dir);
    assert.is(info.executable, r.dir);
    assert.is(info.implementation, 'cpython');
    const minor = r.python.split('.').slice(0, 2).join('.');
    assert.is(pythonVersionForMagic(info.magic), minor);
    assert.is(info.cacheTag, `cpython-${minor.replace('.', '')}`);
    assert.match(info.workerDigest, /^[0-9a-f]{64}$/);
    // Starting a Pyodide takes seconds; a static answer is a Node start and a zip read.
    assert.ok(ms < 20_000, `${r.pkg}: ${ms} ms`);
  }
});

probing("extracts the release's python_stdlib.zip once, content-addressed, and answers it as stdlib", async () => {
  for (const r of releases) {
    const info = await probe(r);
    const stdlib = info.stdlib!;
    assert.ok(stdlib.startsWith(join(cacheDir, 'pyodide-stdlib', `python-${r.python}-`)), stdlib);
    const entries = unzipSync(readFileSync(r.stdlibZip), { filter: () => true });
    const files = Object.keys(entries).filter((n) => !n.endsWith('/'));
    for (const name of files) assert.equal(readFileSync(join(stdlib, name)), Buffer.from(entries[name]), name);
    assert.ok(existsSync(join(stdlib, 'os.py')));
    // Again (not prefetched): the same directory, left as it was.
    writeFileSync(join(stdlib, '.seen'), '');
    const again = await probeInterpreter(r.dir, { cacheDir });
    assert.is(again.stdlib, stdlib);
    assert.ok(existsSync(join(stdlib, '.seen')));
  }
  assert.equal(readdirSync(join(cacheDir, 'pyodide-stdlib')).filter((n) => n.includes('.tmp-')), []);
});

probing('a distribution that fails to start is ERR_PYTHON_VERSION with its stderr', async () => {
  // No pyodide-lock.json: the probe has to start it.
  const dir = fakeDistribution('broken', { 'pyodide.mjs': 'throw new Error("pyodide.asm.wasm is truncated (simulated)");\n' });
  const error = await rejectsPackError(() => probeInterpreter(dir, { cacheDir }), 'ERR_PYTHON_VERSION', `Build interpreter "${dir}" (Pyodide at ${dir}) could not start`);
  assert.match(error.message, 'pyodide.asm.wasm is truncated (simulated)');
});

probing('a distribution that hangs while starting times out, and its process is gone', async () => {
  const dir = fakeDistribution('hangs-probe', {
    'pyodide.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./pid', import.meta.url), String(process.pid));\nexport const loadPyodide = () => new Promise(() => setInterval(() => {}, 1000));\n`,
  });
  const started = performance.now();
  await rejectsPackError(() => probeInterpreter(dir, { cacheDir, timeout: 3000 }), 'ERR_PYTHON_VERSION', 'did not answer within 3 s');
  assert.ok(performance.now() - started < 15_000);
  assert.not.ok(alive(Number(readFileSync(join(dir, 'pid'), 'utf8'))), 'the host was left running');
});

probing.run();

// ---
const pool = suite('CompilerPool: in a Pyodide');

pool('compiles in each release, reports errors per file, and its answer matches the probe', async () => {
  for (const r of releases) {
    const info = await probe(r);
    const p = await CompilerPool.start(info, { jobs: 1 });
    try {
      const out = await p.compile(
        [item('ok.py', 'value = {"a": 1}\n'), item('bad.py', 'x = 1\n\ndef f(:\n    pass\n'), item('nul.py', new Uint8Array([...enc('x = 1\n'), 0, 10]))],
        settings,
      );
      const pyc = pycOf(out[0]);
      assert.is(Buffer.from(pyc.subarray(0, 4)).toString('hex'), info.magicHex, r.pkg);
      assert.is(pyc[4], 1, 'unchecked-hash flags');
      assert.equal([out[1].ok, out[2].ok], [false, false]);
      if (!out[1].ok) assert.equal([out[1].error.line, out[1].error.kind], [3, 'SyntaxError']);
      if (!out[2].ok) assert.match(out[2].error.message, 'null bytes');
    } finally {
      await p.close();
    }
  }
});

pool('gives the pycs of the native interpreter of its minor version, file names included', async () => {
  const r = PYODIDE['3.11'];
  const native = natives['3.11'];
  if (!releases.includes(r) || !native) return void console.log('  skipped: needs pyodide@0.25.1 and python3.11');
  const info = await probe(r);
  // Pyodide's own stdlib: modules it imported at start-up (typing, ast, ...) among them.
  const names = ['ast.py', 'typing.py', 'inspect.py', 'ftplib.py', 'json/decoder.py', 'email/_header_value_parser.py', 'asyncio/base_events.py', 'dataclasses.py', 'enum.py', 'argparse.py'];
  const items = names.map((n) => item(n, readFileSync(join(info.stdlib!, n)), '/usr/local/lib/python311.zip'));
  const wasm = await CompilerPool.start(info, { jobs: 2 });
  const host = await CompilerPool.start(await probeInterpreter(native), { jobs: 1 });
  try {
    const a = (await wasm.compile(items, settings)).map(pycOf);
    const b = (await host.compile(items, settings)).map(pycOf);
    names.forEach((n, i) => assert.ok(Buffer.from(a[i]).equals(b[i]), `${n} differs`));
  } finally {
    await Promise.all([wasm.close(), host.close()]);
  }
});

pool('a worker whose answer is not the probe\'s fails the start', async () => {
  const r = PYODIDE['3.11'];
  if (!releases.includes(r)) return void console.log('  skipped: needs pyodide@0.25.1');
  const info = await probe(r);
  await rejectsPackError(
    () => CompilerPool.start({ ...info, version: '3.11.99' }, { jobs: 1 }),
    'ERR_PYTHON_WORKER',
    `Build interpreter worker (Pyodide at ${r.dir}) reports Python 3.11.3 with magic 3495, expected 3.11.99 with magic 3495.`,
  );
});

pool('a host that dies, stalls or hangs while starting fails the start in time, leaving no process', async () => {
  const dies = fakeDistribution('dies', { ...STATIC_311, 'pyodide.mjs': 'process.stderr.write("out of memory (simulated)\\n"); process.exit(3);\n' });
  const info = await probeInterpreter(dies, { cacheDir });
  assert.is(info.version, '3.11.3');
  await rejectsPackError(() => CompilerPool.start(info, { jobs: 2 }), 'ERR_PYTHON_WORKER', 'exited with code 3', 'out of memory (simulated)');

  // A loader that gives up without settling (what a truncated pyodide.asm.wasm does): Node would exit 0.
  const stalls = fakeDistribution('stalls', { ...STATIC_311, 'pyodide.mjs': 'export const loadPyodide = () => new Promise(() => {});\n' });
  const stalling = await probeInterpreter(stalls, { cacheDir });
  await rejectsPackError(() => CompilerPool.start(stalling, { jobs: 1 }), 'ERR_PYTHON_WORKER', 'exited with code 1', `Pyodide at ${stalls} stopped before it was ready`);

  const hangs = fakeDistribution('hangs', {
    ...STATIC_311,
    'pyodide.mjs': `import { appendFileSync } from 'node:fs';\nappendFileSync(new URL('./pids', import.meta.url), process.pid + '\\n');\nexport const loadPyodide = () => new Promise(() => setInterval(() => {}, 1000));\n`,
  });
  const hanging = await probeInterpreter(hangs, { cacheDir });
  const started = performance.now();
  await rejectsPackError(() => CompilerPool.start(hanging, { jobs: 2, startTimeout: 3000 }), 'ERR_PYTHON_WORKER', `(Pyodide at ${hangs}) did not start within 3 s`);
  assert.ok(performance.now() - started < 15_000);
  const pids = readFileSync(join(hangs, 'pids'), 'utf8').trim().split('\n').map(Number);
  assert.is(pids.length, 2);
  assert.equal(pids.filter(alive), [], 'hosts left running');
});

pool.run();

// ---
const repro = suite('worker.py: the bytes do not depend on what the process interned before');

/**
 * Runs worker.py's _compile_one in `python` on `source` twice: in a fresh worker,
 * and after interning, from other objects, the strings the compile interns. Also
 * plain compile() + marshal both ways, to show the case matters in that version.
 */
function internedBefore(python: string, source: string, strings: string[]): { worker: boolean; plain: boolean } {
  const script = `
import json, marshal, sys
sys.path.insert(0, ${JSON.stringify(dirname(workerScript))})
import worker
worker.setup()
source = sys.stdin.buffer.read()
def plain():
    code = compile(source, 'm.py', 'exec', dont_inherit=True)
    return marshal.dumps(code)
# plain() first: on 3.12 the worker's compile leaves its strings interned for good.
pa = plain()
a = worker._compile_one(source, 'm.py', 0, 'unchecked-hash', 0, False)[0]
keep = [sys.intern(''.join(list(s))) for s in json.loads(sys.argv[1])]
pb = plain()
b = worker._compile_one(source, 'm.py', 0, 'unchecked-hash', 0, False)[0]
print(json.dumps({'worker': a == b, 'plain': pa == pb}))
`;
  const run = spawnSync(python, ['-E', '-s', '-B', '-c', script, JSON.stringify(strings)], { input: source, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

repro('a frozenset constant used by two methods (ftplib.py, 3.11+)', () => {
  // As in ftplib's FTP.abort and FTP_TLS.abort: whether the two share one frozenset
  // depends on whether its strings were interned before.
  const source = [
    'class A:',
    '    def abort(self, r):',
    "        if r[:3] not in {'9426', '9225', '9226'}:",
    '            raise ValueError(r)',
    '',
    'class B(A):',
    '    def abort(self, r):',
    "        line = b'ABOR'",
    "        if r[:3] not in {'9426', '9225', '9226'}:",
    '            raise ValueError(r)',
    '',
  ].join('\n');
  const versions = Object.keys(natives).sort();
  if (versions.length === 0) return void console.log('  skipped: no native python3.11+');
  for (const v of versions) {
    const seen = internedBefore(natives[v], source, ['9426', '9225', '9226']);
    assert.ok(seen.worker, `${v}: worker.py's pyc changed`);
    assert.not.ok(seen.plain, `${v}: plain compile() was expected to change (the case is moot in this version)`);
  }
});

repro("a nested class's __qualname__ constant (3.13+)", () => {
  const source = 'def outer():\n    class Inner:\n        pass\n    return Inner\n';
  const versions = Object.keys(natives).filter((v) => v >= '3.13');
  if (versions.length === 0) return void console.log('  skipped: no native python3.13+');
  for (const v of versions) {
    const seen = internedBefore(natives[v], source, ['outer.<locals>.Inner']);
    assert.ok(seen.worker, `${v}: worker.py's pyc changed`);
    assert.not.ok(seen.plain, `${v}: plain compile() was expected to change`);
  }
});

repro('one-character strings, which a compile can intern for the rest of the process (3.12)', () => {
  const source = "x = ('\u00e4', '\u00f6')\n";
  for (const v of Object.keys(natives).sort()) {
    // An identifier interns the singleton, as compiling test_unicode_identifiers.py does.
    const script = `
import sys
sys.path.insert(0, ${JSON.stringify(dirname(workerScript))})
import worker
worker.setup()
src = ${JSON.stringify(source)}.encode()
a = worker._compile_one(src, 'm.py', 0, 'unchecked-hash', 0, False)[0]
worker._compile_one('\u00e4 = \u00f6 = 1\\n'.encode(), 'n.py', 0, 'unchecked-hash', 0, False)
b = worker._compile_one(src, 'm.py', 0, 'unchecked-hash', 0, False)[0]
print(a == b)
`;
    const run = spawnSync(natives[v], ['-E', '-s', '-B', '-c', script], { encoding: 'utf8' });
    assert.is(run.stdout.trim(), 'True', `${v}: ${run.stderr}`);
  }
});

repro.run();

// ---
const packing = suite('pack: a Pyodide as --build-python');

packing("packs CPython 3.11.2's Lib/ into the zip a native 3.11 makes, byte for byte", async () => {
  const r = PYODIDE['3.11'];
  const native = natives['3.11'];
  if (!releases.includes(r) || !native || !existsSync(join(CPYTHON_LIB, 'os.py'))) {
    return void console.log('  skipped: needs pyodide@0.25.1, python3.11 and .cache/cpython-3.11.2 (bash test/support/fetch-cpython.sh)');
  }
  const run = (python: string, name: string) => pack({ buildPython: python, lib: CPYTHON_LIB, out: join(tmp, name), cacheDir: join(tmp, `cache-${name}`), cwd: tmp });
  const wasm = await run(r.dir, 'pyodide');
  const host = await run(native, 'native');
  assert.ok(wasm.kept.length > 400, `${wasm.kept.length} modules`);
  for (const kind of ['zip', 'package-data', 'package-metadata', 'os.py']) {
    const a = wasm.outputs.find((o) => o.kind === kind)!;
    const b = host.outputs.find((o) => o.kind === kind)!;
    assert.is(sha256(readFileSync(a.path)), sha256(readFileSync(b.path)), kind);
  }
});

packing("packs a 3.12 Pyodide's own stdlib when no stdlib is given (the embedded default)", async () => {
  const r = PYODIDE['3.12'];
  if (!releases.includes(r)) return void console.log('  skipped: needs pyodide-0.27');
  const info = await probe(r);
  // A few modules only: what matters here is where the stdlib comes from and who compiles it.
  const result = await pack({ buildPython: r.dir, out: join(tmp, 'embedded'), cacheDir, cwd: tmp, profile: 'cpython', omit: ['**'], keep: ['os.py', 'json/**', 'encodings/**'] });
  assert.is(result.version, '3.12');
  const zip = result.outputs.find((o) => o.kind === 'zip')!;
  assert.is(zip.path, join(tmp, 'embedded/usr/local/lib/python312.zip'));
  const entries = unzipSync(readFileSync(zip.path));
  const names = Object.keys(entries);
  for (const name of ['os.pyc', 'json/__init__.pyc', 'json/decoder.pyc', 'encodings/__init__.pyc', 'encodings/utf_8.pyc']) assert.ok(names.includes(name), name);
  assert.equal(names.filter((n) => !/^(os|json\/|encodings\/|_sysconfigdata_)/.test(n)), []);
  for (const [name, pyc] of Object.entries(entries)) assert.is(Buffer.from(pyc.subarray(0, 4)).toString('hex'), info.magicHex, name);
  assert.equal(readFileSync(result.outputs.find((o) => o.kind === 'os.py')!.path), readFileSync(join(info.stdlib!, 'os.py')));
});

packing("a Pyodide of another version than the stdlib's is ERR_PYTHON_VERSION, naming both", async () => {
  const r = PYODIDE['3.11'];
  const other = PYODIDE['3.12'];
  if (!releases.includes(r) || !releases.includes(other)) return void console.log('  skipped: needs pyodide@0.25.1 and pyodide-0.27');
  const lib = (await probe(other)).stdlib!;
  const error = await rejectsPackError(
    () => pack({ buildPython: r.dir, lib, out: join(tmp, 'mismatch'), cacheDir, cwd: tmp }),
    'ERR_PYTHON_VERSION',
    `${r.dir} (3.11.3, magic 3495) cannot compile for Lib/ at ${lib} (magic 3531 = Python 3.12)`,
  );
  assert.is(error.hint, 'pass --build-python <path to python3.12> (or a Pyodide of CPython 3.12)');
  assert.not.ok(existsSync(join(tmp, 'mismatch')));
});

packing.run();
