// Tests of src/cache/prefetch.ts and prefetchInterpreter (src/interpreter/): the CLI starts the
// interpreter probe before loading its modules, and pack() takes that answer instead of
// starting a second probe. Real processes: a wrapper script around python3 logs each start.
// Cost: ~1.5 s (a few probes and one warm CLI pack of a small stdlib).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { interpreterOf } from '../src/cache/prefetch.js';
import { prefetchInterpreter, probeInterpreter } from '../src/interpreter/index.js';
import { havePython, REPO, skip } from './helpers.js';

const args = suite('interpreterOf');

args('python3 by default; --build-python in both spellings; nothing when a build root or help decides', () => {
  assert.is(interpreterOf([]), 'python3');
  assert.is(interpreterOf(['pack', '--out', 'dist']), 'python3');
  assert.is(interpreterOf(['pack', '--build-python', '/opt/py/bin/python3.11']), '/opt/py/bin/python3.11');
  assert.is(interpreterOf(['--build-python=/opt/py311', 'explain', 'json']), '/opt/py311');
  assert.is(interpreterOf(['--buildPython', 'python3.11']), 'python3.11');
  assert.is(interpreterOf(['pack', '--builddir', 'builddir/emscripten-browser']), undefined);
  assert.is(interpreterOf(['pack', '--builddir=b', '--build-python', 'x']), undefined);
  assert.is(interpreterOf(['pack', '--help']), undefined);
  assert.is(interpreterOf(['pack', '--build-python']), undefined);
  assert.is(interpreterOf(['pack', '--build-python', '--out']), undefined);
});

args.run();

/** A "python" that logs each start to `log`, then runs python3. */
function wrapper(): { python: string; log: string; starts: () => number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-prefetch-'));
  const log = path.join(dir, 'starts.log');
  const python = path.join(dir, 'python');
  fs.writeFileSync(python, `#!/bin/sh\necho start >> '${log}'\nexec python3 "$@"\n`, { mode: 0o755 });
  return { python, log, starts: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

const probes = suite('prefetchInterpreter');

probes('a prefetched probe answers the next probeInterpreter of that executable, once', async () => {
  if (!havePython()) return skip('python3 is not available');
  const w = wrapper();
  prefetchInterpreter(w.python);
  const info = await probeInterpreter(w.python);
  assert.is(w.starts(), 1);
  assert.is(info.implementation, 'cpython');
  assert.is(info.executable, w.python);
  const again = await probeInterpreter(w.python);
  assert.is(w.starts(), 2, 'the prefetched answer is taken once; a later probe runs the interpreter again');
  assert.equal(again.versionInfo, info.versionInfo);
  // Another cwd is another probe (a launcher may choose by directory, like pyenv's .python-version).
  prefetchInterpreter(w.python, os.tmpdir());
  await probeInterpreter(w.python);
  assert.is(w.starts(), 4);
  await probeInterpreter(w.python, { cwd: os.tmpdir() });
  assert.is(w.starts(), 4);
});

probes('a warm CLI run starts the interpreter once: pack() uses the probe bin/ started, not a second one', async () => {
  if (!havePython()) return skip('python3 is not available');
  const w = wrapper();
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-prefetch-cli-'));
  const stdlib = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
  const lib = path.join(top, 'Lib');
  for (const rel of ['os.py', 'stat.py', 'importlib/_bootstrap_external.py', 'importlib/__init__.py']) {
    fs.cpSync(path.join(stdlib, rel), path.join(lib, rel));
  }
  const run = (out: string) =>
    execFileSync(process.execPath, [path.join(REPO, 'bin/pywasm-assets.js'), 'pack', '--lib', lib, '--build-python', w.python, '--out', path.join(top, out), '--cache-dir', path.join(top, 'cache')], { encoding: 'utf8' });
  run('cold');
  const cold = w.starts();
  run('warm');
  assert.is(w.starts() - cold, 1, 'a warm CLI run starts the interpreter once (the prefetched probe)');
  fs.rmSync(top, { recursive: true, force: true });
});

probes.run();
