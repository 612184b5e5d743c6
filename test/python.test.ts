// Tests of src/interpreter/ against the real python3 (CPython 3.11 on CI).
// Cost: about 2 s on a 2-core machine (a dozen short-lived interpreters).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompilerPool,
  checkMagic,
  probeInterpreter,
  pythonVersionForMagic,
  readMagicFromLib,
  type CompileItem,
  type CompileOutcome,
  type InterpreterInfo,
} from '../src/interpreter/index.js';
import { PackError } from '../src/errors.js';
import { misbehavingPython, pidsOf, stillRunning, within } from './fixtures/interpreters.js';

const PYTHON = process.env.PYWASM_TEST_PYTHON ?? 'python3';
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-python-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

let infoPromise: Promise<InterpreterInfo> | undefined;
const getInfo = () => (infoPromise ??= probeInterpreter(PYTHON));

async function rejects(promise: Promise<unknown>): Promise<PackError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, PackError);
    return error as PackError;
  }
  assert.unreachable('expected a PackError');
  throw new Error('unreachable');
}

const enc = (text: string) => new TextEncoder().encode(text);
const item = (name: string, source: Uint8Array | string): CompileItem => ({
  path: `${name}.py`,
  filename: `/usr/local/lib/python311.zip/${name}.py`,
  source: typeof source === 'string' ? enc(source) : source,
});

/**
 * Loads pycs with the real interpreter: puts them in a zip as `<name>.pyc`,
 * imports each through zipimport and reports header fields, the source hash
 * check, the embedded file name and the module's `value`.
 */
function inspect(pycs: Record<string, Uint8Array>, sources: Record<string, Uint8Array>): Record<string, any> {
  const dir = mkdtempSync(join(tmp, 'load-'));
  for (const [name, pyc] of Object.entries(pycs)) {
    writeFileSync(join(dir, `${name}.pyc`), pyc);
    writeFileSync(join(dir, `${name}.src`), sources[name]);
  }
  const script = `
import importlib, importlib.util, json, marshal, os, sys, zipfile
d = sys.argv[1]
z = os.path.join(d, 'mods.zip')
names = sorted(n[:-4] for n in os.listdir(d) if n.endswith('.pyc'))
with zipfile.ZipFile(z, 'w') as f:
    for n in names:
        f.write(os.path.join(d, n + '.pyc'), n + '.pyc')
sys.path.insert(0, z)
out = {}
for n in names:
    data = open(os.path.join(d, n + '.pyc'), 'rb').read()
    src = open(os.path.join(d, n + '.src'), 'rb').read()
    flags = int.from_bytes(data[4:8], 'little')
    code = marshal.loads(data[16:])
    m = importlib.import_module(n)
    out[n] = {
        'magic_ok': data[:4] == importlib.util.MAGIC_NUMBER,
        'flags': flags,
        'hash_ok': data[8:16] == importlib.util.source_hash(src),
        'mtime': int.from_bytes(data[8:12], 'little'),
        'size': int.from_bytes(data[12:16], 'little'),
        'co_filename': code.co_filename,
        'loader': type(m.__loader__).__name__,
        'value': getattr(m, 'value', None),
    }
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-E', '-s', '-c', script, dir], { encoding: 'utf8' }));
}

function pycOf(outcome: CompileOutcome): Uint8Array {
  if (!outcome.ok) throw new Error(`compile failed: ${outcome.error.message}`);
  return outcome.pyc;
}

// ---

const probe = suite('probeInterpreter');

probe('reports version, magic and stdlib of the real python3', async () => {
  const info = await getInfo();
  assert.equal(info.implementation, 'cpython');
  assert.ok(info.versionInfo[0] === 3 && info.versionInfo[1] >= 8);
  assert.is(info.version, info.versionInfo.join('.'));
  const expected = execFileSync(PYTHON, ['-E', '-c', 'import importlib.util as u;print(int.from_bytes(u.MAGIC_NUMBER[:2],"little"))'], { encoding: 'utf8' });
  assert.is(info.magic, Number(expected.trim()));
  assert.match(info.magicHex, /^[0-9a-f]{4}0d0a$/);
  assert.match(info.workerDigest, /^[0-9a-f]{64}$/);
  assert.ok(info.stdlib && readFileSync(join(info.stdlib, 'os.py')).length > 0);
});

probe('a missing executable is ERR_PYTHON_NOT_FOUND', async () => {
  const error = await rejects(probeInterpreter(join(tmp, 'no-such-python3.11')));
  assert.is(error.code, 'ERR_PYTHON_NOT_FOUND');
  assert.match(error.message, `Build interpreter "${join(tmp, 'no-such-python3.11')}" was not found.`);
  assert.match(error.hint!, '--build-python');
});

probe('a program that is not Python is ERR_PYTHON_VERSION with its stderr', async () => {
  const fake = join(tmp, 'not-python');
  writeFileSync(fake, '#!/bin/sh\necho "I am not python" >&2\nexit 1\n');
  chmodSync(fake, 0o755);
  const error = await rejects(probeInterpreter(fake));
  assert.is(error.code, 'ERR_PYTHON_VERSION');
  assert.match(error.message, 'I am not python');
});

probe.run();

// ---

const magic = suite('readMagicFromLib / checkMagic');

magic('reads the magic number of the interpreter\'s own Lib/', async () => {
  const info = await getInfo();
  const source = readFileSync(join(info.stdlib!, 'importlib', '_bootstrap_external.py'), 'utf8');
  assert.is(readMagicFromLib(source), info.magic);
});

magic('reads the 3.10 form and gives up on the 3.14 form', () => {
  assert.is(readMagicFromLib("x = 1\nMAGIC_NUMBER = (3439).to_bytes(2, 'little') + b'\\r\\n'\n"), 3439);
  assert.is(readMagicFromLib("MAGIC_NUMBER = _imp.pyc_magic_number_token.to_bytes(4, 'little')\n"), undefined);
  assert.is(pythonVersionForMagic(3439), '3.10');
  assert.is(pythonVersionForMagic(3495), '3.11');
  assert.is(pythonVersionForMagic(3531), '3.12');
  assert.is(pythonVersionForMagic(42), undefined);
});

magic('a Lib/ with the 3.10 magic is refused, naming both versions', async () => {
  const info = await getInfo();
  const lib = join(tmp, 'Lib310');
  mkdirSync(join(lib, 'importlib'), { recursive: true });
  writeFileSync(join(lib, 'importlib', '_bootstrap_external.py'), "MAGIC_NUMBER = (3439).to_bytes(2, 'little') + b'\\r\\n'\n");
  const libMagic = readMagicFromLib(readFileSync(join(lib, 'importlib', '_bootstrap_external.py'), 'utf8'));
  let error: unknown;
  try {
    checkMagic(info, libMagic, lib);
  } catch (e) {
    error = e;
  }
  assert.instance(error, PackError);
  const e = error as PackError;
  assert.is(e.code, 'ERR_PYTHON_VERSION');
  assert.match(e.message, `${PYTHON} (${info.version}, magic ${info.magic}) cannot compile for Lib/ at ${lib} (magic 3439 = Python 3.10)`);
  assert.match(e.hint!, 'python3.10');
  checkMagic(info, info.magic, lib); // the same magic passes
  checkMagic(info, undefined, lib); // unknown: no verdict
});

magic.run();

// ---

const compile = suite('CompilerPool.compile');

compile('honours coding cookies and BOMs, and embeds the given file name', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start(info, { jobs: 1 });
  try {
    const latin1 = new Uint8Array([...enc('# -*- coding: latin-1 -*-\nvalue = "caf'), 0xe9, ...enc('"\n')]);
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc('value = "café ☕"\n')]);
    const sources = { latin1, bom };
    const out = await pool.compile([item('latin1', latin1), item('bom', bom)], { optimize: 0, invalidation: 'unchecked-hash' });
    const seen = inspect({ latin1: pycOf(out[0]), bom: pycOf(out[1]) }, sources);
    assert.is(seen.latin1.value, 'café');
    assert.is(seen.bom.value, 'café ☕');
    assert.is(seen.latin1.co_filename, '/usr/local/lib/python311.zip/latin1.py');
    assert.is(seen.bom.loader, 'zipimporter');
  } finally {
    await pool.close();
  }
});

compile('writes PEP 552 headers for each invalidation mode', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start(info, { jobs: 1 });
  try {
    const source = enc('value = 40 + 2\n');
    const run = (invalidation: 'unchecked-hash' | 'checked-hash' | 'timestamp') =>
      pool.compile([item('m', source)], { optimize: 0, invalidation, mtime: 315532800 }).then((o) => pycOf(o[0]));
    const unchecked = inspect({ m: await run('unchecked-hash') }, { m: source }).m;
    assert.equal([unchecked.magic_ok, unchecked.flags, unchecked.hash_ok, unchecked.value], [true, 0b01, true, 42]);
    const checked = inspect({ m: await run('checked-hash') }, { m: source }).m;
    assert.equal([checked.flags, checked.hash_ok, checked.value], [0b11, true, 42]);
    const stamped = inspect({ m: await run('timestamp') }, { m: source }).m;
    assert.equal([stamped.flags, stamped.mtime, stamped.size, stamped.value], [0, 315532800, source.length, 42]);
  } finally {
    await pool.close();
  }
});

compile('reports syntax errors, null bytes and bad encodings per file', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start(info, { jobs: 1 });
  try {
    const out = await pool.compile(
      [
        item('ok1', 'value = 1\n'),
        item('bad', 'x = 1\n\ndef f(:\n    pass\n'),
        item('nul', new Uint8Array([...enc('x = 1\n'), 0, ...enc('\n')])),
        item('enc', new Uint8Array([...enc('x = "'), 0xff, 0xfe, ...enc('"\n')])),
        item('cookie', '# coding: no-such-codec\nx = 1\n'),
        item('ok2', 'value = 2\n'),
      ],
      { optimize: 0, invalidation: 'unchecked-hash' },
    );
    assert.equal(out.map((o) => o.ok), [true, false, false, false, false, true]);
    const errors = out.map((o) => (o.ok ? undefined : o.error));
    assert.is(errors[1]!.line, 3);
    assert.is(errors[1]!.kind, 'SyntaxError');
    assert.match(errors[2]!.message, 'null bytes');
    assert.match(errors[3]!.message, "can't decode byte 0xff");
    assert.match(errors[4]!.message, 'no-such-codec');
    const seen = inspect({ ok1: pycOf(out[0]), ok2: pycOf(out[5]) }, { ok1: enc('value = 1\n'), ok2: enc('value = 2\n') });
    assert.equal([seen.ok1.value, seen.ok2.value], [1, 2]);
  } finally {
    await pool.close();
  }
});

compile('gives the same bytes whatever the batching, order and number of workers', async () => {
  const info = await getInfo();
  const names = ['json/decoder.py', 'json/encoder.py', 'string.py', 'textwrap.py', 'shlex.py', 'colorsys.py', 'bisect.py', 'glob.py', 'fnmatch.py', 'heapq.py'];
  const items = names.map((name) => ({ path: name, filename: `/usr/local/lib/python311.zip/${name}`, source: readFileSync(join(info.stdlib!, name)) }));
  const settings = { optimize: 0 as const, invalidation: 'unchecked-hash' as const };
  const one = await CompilerPool.start(info, { jobs: 1 });
  const two = await CompilerPool.start(info, { jobs: 2 });
  try {
    const a = (await one.compile(items, settings)).map(pycOf);
    const b = (await two.compile([...items].reverse(), settings)).map(pycOf).reverse();
    const c = await Promise.all(items.map(async (it) => pycOf((await two.compile([it], settings))[0])));
    for (let i = 0; i < items.length; i++) {
      assert.equal(Buffer.from(b[i]).equals(a[i]), true, `${names[i]} differs across batching`);
      assert.equal(Buffer.from(c[i]).equals(a[i]), true, `${names[i]} differs when compiled alone`);
    }
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});

compile('optimize 2 drops docstrings and asserts', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start(info, { jobs: 1 });
  try {
    const source = '"""A distinctive docstring"""\nvalue = __doc__\nassert False\n';
    const o0 = pycOf((await pool.compile([item('m', source)], { optimize: 0, invalidation: 'unchecked-hash' }))[0]);
    const o2 = pycOf((await pool.compile([item('m', source)], { optimize: 2, invalidation: 'unchecked-hash' }))[0]);
    assert.ok(Buffer.from(o0).includes('distinctive docstring'));
    assert.not.ok(Buffer.from(o2).includes('distinctive docstring'));
    const error = await rejects(pool.compile([item('m', source)], { optimize: 3 as any, invalidation: 'unchecked-hash' }));
    assert.is(error.code, 'ERR_OPTION');
  } finally {
    await pool.close();
  }
});

compile.run();

// ---

const crash = suite('CompilerPool: worker failures');

/** A fake interpreter: answers `info` like the real one, then dies on the first compile. */
function crashingPython(info: InterpreterInfo): string {
  const script = join(tmp, 'crash.py');
  writeFileSync(
    script,
    `import json, os, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(4)
    if len(head) < 4: sys.exit(0)
    header = json.loads(inp.read(int.from_bytes(head, 'big')))
    if header['op'] == 'info':
        data = json.dumps({'magic': ${info.magic}, 'version_info': [3, 11, 7]}).encode()
        out.write(len(data).to_bytes(4, 'big') + data); out.flush()
    else:
        sys.stderr.write('Fatal Python error: Segmentation fault (simulated)\\n'); sys.stderr.flush()
        os._exit(139)
`,
  );
  const exe = join(tmp, 'crashing-python');
  writeFileSync(exe, `#!/bin/sh\nexec ${info.resolved} ${script}\n`);
  chmodSync(exe, 0o755);
  return exe;
}

crash('a worker that dies mid-run rejects with ERR_PYTHON_WORKER and its stderr', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start({ ...info, executable: crashingPython(info), resolved: 'crashing-python' }, { jobs: 2 });
  try {
    const error = await rejects(pool.compile([item('a', 'x = 1\n'), item('b', 'y = 2\n')], { optimize: 0, invalidation: 'unchecked-hash' }));
    assert.is(error.code, 'ERR_PYTHON_WORKER');
    assert.match(error.message, 'exited with code 139');
    assert.match(error.message, 'Segmentation fault (simulated)');
  } finally {
    await pool.close();
  }
});

crash('a worker that cannot start fails CompilerPool.start', async () => {
  const info = await getInfo();
  const exe = join(tmp, 'dead-python');
  writeFileSync(exe, '#!/bin/sh\necho "cannot start: no memory" >&2\nexit 7\n');
  chmodSync(exe, 0o755);
  const error = await rejects(CompilerPool.start({ ...info, executable: exe, resolved: exe }, { jobs: 1 }));
  assert.is(error.code, 'ERR_PYTHON_WORKER');
  assert.match(error.message, 'exited with code 7');
  assert.match(error.message, 'cannot start: no memory');
});

crash('workers start from sys.executable, falling back to the name as given', async () => {
  const info = await getInfo();
  // A launcher whose sys.executable is not runnable on its own: the pool must still work.
  const pool = await CompilerPool.start({ ...info, resolved: join(tmp, 'not-runnable') }, { jobs: 1 });
  try {
    const out = await pool.compile([item('m', 'value = 1\n')], { optimize: 0, invalidation: 'unchecked-hash' });
    assert.ok(out[0].ok);
  } finally {
    await pool.close();
  }
  writeFileSync(join(tmp, 'not-runnable'), '#!/bin/sh\nexit 1\n');
  chmodSync(join(tmp, 'not-runnable'), 0o755);
  const again = await CompilerPool.start({ ...info, resolved: join(tmp, 'not-runnable') }, { jobs: 1 });
  try {
    const out = await again.compile([item('m', 'value = 1\n')], { optimize: 0, invalidation: 'unchecked-hash' });
    assert.ok(out[0].ok);
  } finally {
    await again.close();
  }
});

crash('a lazy pool starts no process until it compiles', async () => {
  const info = await getInfo();
  const pool = await CompilerPool.start({ ...info, executable: join(tmp, 'never-run') }, { jobs: 2, lazy: true });
  assert.is(pool.size, 0);
  assert.equal(await pool.compile([], { optimize: 0, invalidation: 'unchecked-hash' }), []);
  await pool.close();
});

crash.run();

// ---

const processes = suite('Build interpreter processes: process groups, stuck workers, how many');

const SETTINGS = { optimize: 0 as const, invalidation: 'unchecked-hash' as const };
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

processes('a probe of a wrapper script whose child hangs ends at its timeout, with the script and the child killed', async () => {
  const { exe, pids } = misbehavingPython(join(tmp, 'hang'), 'python-hang', (await getInfo()).resolved, 'hang');
  try {
    const started = Date.now();
    const error = await within(20_000, 'the probe', rejects(probeInterpreter(exe, { timeout: 1500 })));
    assert.is(error.code, 'ERR_PYTHON_VERSION');
    assert.is(error.message, `Build interpreter "${exe}" did not answer within 1.5 s, so it was killed with every process it started.`);
    assert.ok(error.hint!.startsWith(`check that "${exe} -c pass" returns at once (a wrapper script must not wait for anything), or pass --build-python`), error.hint);
    assert.ok(Date.now() - started < 10_000, 'ended soon after its timeout');
    assert.equal(pidsOf(pids).map((p) => p.role).sort(), ['sh', 'sleep']);
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

processes("closing a pool also kills what a worker left running in its process group (a wrapper's background child holding the pipes)", async () => {
  const info = await getInfo();
  const { exe, pids } = misbehavingPython(join(tmp, 'leave'), 'python-leave', info.resolved, 'leave-child');
  try {
    const pool = await CompilerPool.start({ ...info, executable: exe, resolved: exe }, { jobs: 1 });
    const out = await pool.compile([item('m', 'value = 1\n')], SETTINGS);
    assert.ok(out[0].ok);
    await within(10_000, 'pool.close()', pool.close());
    assert.ok(pidsOf(pids).some((p) => p.role === 'sleep'), 'the worker started its background child');
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

processes('a worker that stops answering (SIGSTOP) fails the compile after the idle timeout, naming the worker and its files; it and its child are killed', async () => {
  const info = await getInfo();
  const { exe, pids } = misbehavingPython(join(tmp, 'stop'), 'python-stop', info.resolved, 'stop');
  try {
    const pool = await CompilerPool.start({ ...info, executable: exe, resolved: exe }, { jobs: 1, idleTimeout: 1000 });
    try {
      const started = Date.now();
      const error = await within(20_000, 'the compile', rejects(pool.compile([item('a', 'x = 1\n'), item('b', 'y = 2\n')], SETTINGS)));
      assert.is(error.code, 'ERR_PYTHON_WORKER');
      assert.match(
        error.message,
        new RegExp(`^Build interpreter worker \\(${escape(exe)}, pid \\d+\\) sent nothing for 1 s while compiling a\\.py, b\\.py: it is stuck \\(stopped, deadlocked or starved\\), so it was killed with every process it started\\.$`),
      );
      assert.match(error.hint!, 'PYWASM_WORKER_TIMEOUT=<seconds> (now 1)');
      assert.ok(Date.now() - started < 10_000, 'failed soon after the idle timeout');
      assert.ok(pidsOf(pids).some((p) => p.role === 'stop'), 'the worker stopped itself');
    } finally {
      await within(10_000, 'pool.close()', pool.close());
    }
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

processes('a slow worker that keeps answering is never taken as stuck: the limit is on silence, not on the whole compile', async () => {
  const info = await getInfo();
  const { exe, pids } = misbehavingPython(join(tmp, 'slow'), 'python-slow', info.resolved, { slow: 0.6 });
  try {
    const pool = await CompilerPool.start({ ...info, executable: exe, resolved: exe }, { jobs: 1, idleTimeout: 1000 });
    try {
      // 200 files: 4 batches of at most 64, two in flight, each answered 0.6 s late (2.4 s in all;
      // the second batch waits 1.2 s from being sent, but the worker answered 0.6 s before).
      const items = Array.from({ length: 200 }, (_, i) => item(`m${i}`, `value = ${i}\n`));
      const out = await within(30_000, 'the compile', pool.compile(items, SETTINGS));
      assert.ok(out.every((o) => o.ok));
    } finally {
      await pool.close();
    }
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

processes('an aborted signal kills the workers at once and the compile rejects with ERR_INTERRUPTED; a pool does not start after it', async () => {
  const info = await getInfo();
  const { exe, pids } = misbehavingPython(join(tmp, 'abort'), 'python-abort', info.resolved, { slow: 5 });
  try {
    const controller = new AbortController();
    const pool = await CompilerPool.start({ ...info, executable: exe, resolved: exe }, { jobs: 1, signal: controller.signal });
    try {
      const compiling = rejects(pool.compile([item('a', 'x = 1\n')], SETTINGS));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      controller.abort('SIGINT');
      const error = await within(10_000, 'the compile', compiling);
      assert.is(error.code, 'ERR_INTERRUPTED');
      assert.is(error.message, 'Interrupted by SIGINT: nothing was written, and the previous outputs are as they were.');
      assert.ok(Date.now() - started < 3000, 'rejected at once, not when the worker would have answered');
    } finally {
      await within(10_000, 'pool.close()', pool.close());
    }
    const late = await rejects(CompilerPool.start(info, { jobs: 1, signal: controller.signal }));
    assert.is(late.code, 'ERR_INTERRUPTED');
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

processes('jobs: never more workers than files to compile, and at most 4 per core', async () => {
  const info = await getInfo();
  const cores = availableParallelism();
  const lazy = await CompilerPool.start(info, { jobs: 4 * cores + 2, lazy: true });
  try {
    await lazy.compile([item('a', 'x = 1\n'), item('b', 'y = 2\n')], SETTINGS);
    assert.is(lazy.size, 2, 'one worker per file');
  } finally {
    await lazy.close();
  }
  const eager = await CompilerPool.start(info, { jobs: 4 * cores + 2 });
  try {
    assert.is(eager.size, 4 * cores, '4 per core');
  } finally {
    await eager.close();
  }
});

processes('jobs above 256 or not a positive integer is ERR_OPTION, and no process starts', async () => {
  const info = await getInfo();
  for (const jobs of [1e9, 257, 2.5, 0]) {
    const error = await rejects(CompilerPool.start({ ...info, executable: join(tmp, 'never-run') }, { jobs, lazy: true }));
    assert.is(error.code, 'ERR_OPTION');
    assert.is(error.message, `jobs must be an integer from 1 to 256, got ${jobs}.`);
  }
});

processes.run();
