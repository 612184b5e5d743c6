/**
 * The CLI under hung workers and real signals (issue 13): each test runs the CLI in a
 * child process (test/fixtures/cli-main.ts, through tsx), with a worker that stops
 * itself or is slow (test/fixtures/interpreters.ts), or paused in the middle of writing
 * its outputs or its cache, and sends it SIGINT, SIGTERM or SIGKILL; then it checks the
 * exit code, the error, and that no temporary file, no mixed set of outputs and no
 * process is left.
 * Every child runs under a deadline and is killed when it passes it.
 * Cost: ~2 s per child on a 2-core machine.
 */
import { spawn } from 'node:child_process';
import nodeFs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HAS_PYTHON3, makeTmp, PYTHON3, rmTmp, SMALL_LIB, writeTree } from './fixtures/errors/support.js';
import { misbehavingPython, pidsOf, stillRunning, within } from './fixtures/interpreters.js';

const CLI_MAIN = fileURLToPath(new URL('./fixtures/cli-main.ts', import.meta.url));
const PY = PYTHON3 ?? 'python3';
if (!HAS_PYTHON3) console.log('cli-signals.test.ts: python3 (3.8+) is not runnable here; these runs fail with ERR_PYTHON_NOT_FOUND.');

const ROOT = makeTmp('pywasm-assets-signals-');
process.once('exit', () => rmTmp(ROOT));
const LIB = writeTree(path.join(ROOT, 'Lib'), SMALL_LIB);

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the child reached the pause (or the moment `ready` waited for). */
  reached: boolean;
}

/**
 * Runs the CLI in a child with `env`; once `ready()` says so (polled every 20 ms), calls
 * `act(pid)`. Resolves when the child has ended; a child still running after `deadline`
 * ms is killed and the test fails.
 */
async function runChild(argv: string[], env: Record<string, string>, ready?: () => boolean, act?: (pid: number) => Promise<void>, deadline = 60_000): Promise<Ended> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI_MAIN, ...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let reached = false;
  try {
    if (ready) {
      let exited = false;
      void ended.then(() => (exited = true));
      for (const until = Date.now() + deadline; !exited && Date.now() < until; ) {
        if (ready()) {
          reached = true;
          await act!(child.pid!);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const { code, signal } = await within(deadline, `pywasm-assets ${argv.join(' ')}`, ended);
    return { code, signal, stdout, stderr, reached };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// ---
const workers = suite('Stuck workers while compiling');

workers('a worker that stops answering ends the run after PYWASM_WORKER_TIMEOUT with exit 1 and ERR_PYTHON_WORKER naming it; nothing written, no process left', async () => {
  const { exe, pids } = misbehavingPython(path.join(ROOT, 'py-stuck'), 'python-stuck', PY, 'stop');
  const out = path.join(ROOT, 'out-stuck');
  try {
    const r = await runChild(['--lib', LIB, '--build-python', exe, '--no-cache', '--jobs', '1', '--out', out], { PYWASM_WORKER_TIMEOUT: '1.5' }, undefined, undefined, 30_000);
    assert.equal([r.code, r.signal], [1, null], r.stderr);
    assert.match(r.stderr, new RegExp(`^error ERR_PYTHON_WORKER: Build interpreter worker \\(${exe.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, pid \\d+\\) sent nothing for 1\\.5 s while compiling `));
    assert.match(r.stderr, /\n {2}hint: Check that .* PYWASM_WORKER_TIMEOUT=<seconds> \(now 1\.5\); --jobs 1 narrows it down\.\n$/);
    assert.not.ok(nodeFs.existsSync(out), `${out} was created`);
  } finally {
    assert.equal(await stillRunning(pids), [], 'processes left running');
  }
});

workers.run();

// ---
const ESC = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every file under `dir` (relative), with its bytes, sorted. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  if (!nodeFs.existsSync(dir)) return files;
  for (const entry of nodeFs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as any).path, entry.name);
    files.set(path.relative(dir, file), nodeFs.readFileSync(file));
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

const names = (files: Map<string, Buffer>) => [...files.keys()];
const temporaries = (dir: string) => names(snapshot(dir)).filter((name) => /\.tmp-\d+-|\.\d+\.[0-9a-f]{8}\.tmp$/.test(name));

function sameFiles(actual: Map<string, Buffer>, expected: Map<string, Buffer>, what: string): void {
  assert.equal(names(actual), names(expected), `${what}: the same files`);
  for (const [name, bytes] of expected) assert.ok(actual.get(name)!.equals(bytes), `${what}: ${name} has the same bytes`);
}

/** One complete pack into `out` (with the real python3), as the previous outputs. */
async function packInto(out: string, ...extra: string[]): Promise<Map<string, Buffer>> {
  const r = await runChild(['--lib', LIB, '--build-python', PY, '--no-cache', '--out', out, ...extra], {});
  assert.is(r.code, 0, r.stderr);
  return snapshot(out);
}

const signals = suite('SIGINT, SIGTERM and SIGKILL during a run');

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  signals(`${sig} while compiling: the workers are killed, exit ${code}, ERR_INTERRUPTED; the previous outputs are untouched, no temporary file, no process left`, async () => {
    const out = path.join(ROOT, `out-${sig}-compiling`);
    const before = await packInto(out, '--level', '0');
    const { exe, pids } = misbehavingPython(path.join(ROOT, `py-slow-${sig}`), 'python-slow', PY, { slow: 4 });
    let sent = 0;
    try {
      const r = await runChild(
        ['--lib', LIB, '--build-python', exe, '--no-cache', '--jobs', '1', '--out', out],
        {},
        // The probe and the worker have started; the worker's first answer is 4 s away.
        () => pidsOf(pids).filter((p) => p.role === 'python').length >= 2,
        async (pid) => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          sent = Date.now();
          process.kill(pid, sig);
        },
        30_000,
      );
      assert.ok(r.reached, 'the worker started');
      assert.equal([r.code, r.signal], [code, null], r.stderr);
      assert.is(r.stderr, `error ERR_INTERRUPTED: Interrupted by ${sig}: nothing was written, and the previous outputs are as they were.\n`);
      assert.ok(Date.now() - sent < 3500, `ended ${Date.now() - sent} ms after the signal, before the worker would have answered`);
      sameFiles(snapshot(out), before, 'after the interrupted run');
    } finally {
      assert.equal(await stillRunning(pids), [], 'processes left running');
    }
  });
}

signals('SIGTERM in the middle of the renames: the outputs are finished first (a complete new set, no old one mixed in, no temporary file), then exit 143', async () => {
  const out = path.join(ROOT, 'out-sigterm-renames');
  const before = await packInto(out, '--level', '0');
  const marker = path.join(ROOT, 'paused-renames');
  const r = await runChild(
    ['--lib', LIB, '--build-python', PY, '--no-cache', '--out', out],
    // Paused as the new zip is about to replace the old one (which is already moved aside).
    { PYWASM_TEST_PAUSE_RENAME: 'python311\\.zip$', PYWASM_TEST_PAUSE_MARKER: marker, PYWASM_TEST_PAUSE_MS: '2000' },
    () => nodeFs.existsSync(marker),
    async (pid) => void process.kill(pid, 'SIGTERM'),
    30_000,
  );
  assert.ok(r.reached, 'the run reached the renames');
  assert.match(nodeFs.readFileSync(marker, 'utf8'), new RegExp(`${ESC(out)}/.*python311\\.zip\\.tmp-\\d+-\\w+ -> ${ESC(out)}/.*python311\\.zip\n`));
  assert.equal([r.code, r.signal], [143, null], r.stderr);
  assert.is(r.stderr, 'interrupted by SIGTERM after the outputs were written: they are complete, and were kept.\n');
  const after = snapshot(out);
  assert.equal(temporaries(out), []);
  assert.equal(names(after), names(before));
  assert.not.ok(after.get(names(after).find((n) => n.endsWith('python311.zip'))!)!.equals(before.get(names(before).find((n) => n.endsWith('python311.zip'))!)!), 'the zip is the new one');
  // The same run again, uninterrupted, gives exactly these files: nothing old was left in the set.
  sameFiles(await packInto(path.join(ROOT, 'out-sigterm-renames'), '--level', '9'), after, 'a complete run of the same inputs');
});

signals('SIGKILL in the middle of the renames leaves temporaries; the next run into that --out removes them', async () => {
  const out = path.join(ROOT, 'out-sigkill-renames');
  await packInto(out, '--level', '0');
  const marker = path.join(ROOT, 'paused-sigkill');
  const r = await runChild(
    ['--lib', LIB, '--build-python', PY, '--no-cache', '--out', out],
    { PYWASM_TEST_PAUSE_RENAME: 'python311\\.zip$', PYWASM_TEST_PAUSE_MARKER: marker, PYWASM_TEST_PAUSE_MS: '20000' },
    () => nodeFs.existsSync(marker),
    async (pid) => void process.kill(pid, 'SIGKILL'),
    30_000,
  );
  assert.equal([r.reached, r.signal], [true, 'SIGKILL']);
  const left = temporaries(out);
  assert.ok(left.some((n) => n.endsWith('python311.zip.tmp-' + n.split('.tmp-')[1]) && !n.endsWith('.old')), `the new zip's temporary is left: ${left}`);
  assert.ok(left.some((n) => /python311\.zip\.tmp-\d+-\w+\.old$/.test(n)), `the old zip, moved aside, is left: ${left}`);
  const after = await packInto(out);
  assert.equal(temporaries(out), [], 'the next run removed what the killed one left');
  assert.ok(names(after).some((n) => n.endsWith('python311.zip')));
});

signals('SIGKILL while the cache file is written leaves its temporary; the next run that writes the cache removes it', async () => {
  const out = path.join(ROOT, 'out-sigkill-cache');
  const cache = path.join(ROOT, 'cache-sigkill');
  const marker = path.join(ROOT, 'paused-cache');
  const r = await runChild(
    ['--lib', LIB, '--build-python', PY, '--cache-dir', cache, '--out', out],
    { PYWASM_TEST_PAUSE_RENAME: 'pack-v2\\.bin$', PYWASM_TEST_PAUSE_MARKER: marker, PYWASM_TEST_PAUSE_MS: '20000' },
    () => nodeFs.existsSync(marker),
    async (pid) => void process.kill(pid, 'SIGKILL'),
    30_000,
  );
  assert.equal([r.reached, r.signal], [true, 'SIGKILL']);
  assert.equal(temporaries(cache).filter((n) => n.startsWith('pack-v2.bin.')).length, 1, `the cache's temporary is left: ${names(snapshot(cache))}`);
  const again = await runChild(['--lib', LIB, '--build-python', PY, '--cache-dir', cache, '--out', out], {});
  assert.is(again.code, 0, again.stderr);
  assert.equal(temporaries(cache), [], 'the next run removed it');
  assert.ok(nodeFs.existsSync(path.join(cache, 'pack-v2.bin')));
});

signals.run();
