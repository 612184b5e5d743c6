/**
 * The CLI with build interpreters that hang (issue 13): each test runs the CLI in a
 * child process (test/fixtures/cli-main.ts, through tsx) with a worker that stops
 * itself (test/fixtures/interpreters.ts), and then checks the exit code, the error,
 * and that no output, no temporary file and no process is left.
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
import { misbehavingPython, stillRunning, within } from './fixtures/interpreters.js';

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
