// Tests of the warm start (src/cache/warm-start.ts, src/cache/interpreter-answers.ts): the
// pipeline runs on the build interpreter's last answer while it starts; that must only ever
// save time, never change a result. A small copy of
// the machine's stdlib, the real python3. Cost: ~4 s.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { memfs } from 'memfs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack, type PackResult } from '../src/index.js';
import { HINT_FILE, loadInterpreterHint, saveInterpreterHint } from '../src/cache/interpreter-answers.js';
import { sameAnswer } from '../src/cache/warm-start.js';
import type { InterpreterInfo } from '../src/interpreter/index.js';
import type { PackFs } from '../src/types.js';
import { havePython, skip, smallStdlib } from './helpers.js';

const INFO: InterpreterInfo = {
  executable: 'python3', resolved: '/usr/bin/python3.11', version: '3.11.7', versionInfo: [3, 11, 7], magic: 3495, magicHex: 'a70d0d0a',
  implementation: 'cpython', cacheTag: 'cpython-311', workerDigest: 'ab'.repeat(32), stdlib: '/usr/lib/python3.11', cwd: '/p',
};

const hints = suite('interpreter hints');

hints('round trip by executable and working directory; the latest first, at most eight', () => {
  const fs = memfs({}, '/').fs as unknown as PackFs;
  assert.is(loadInterpreterHint(fs, '/c', 'python3', '/p'), undefined);
  saveInterpreterHint(fs, '/c', INFO, '/p');
  assert.equal(loadInterpreterHint(fs, '/c', 'python3', '/p'), { info: INFO });
  saveInterpreterHint(fs, '/c', INFO, '/p', 'ff'.repeat(32));
  assert.equal(loadInterpreterHint(fs, '/c', 'python3', '/p'), { info: INFO, identity: 'ff'.repeat(32) }, 'with the identity it was given by');
  assert.is(loadInterpreterHint(fs, '/c', 'python3', '/elsewhere'), undefined, 'another cwd (pyenv picks versions by directory)');
  assert.is(loadInterpreterHint(fs, '/c', 'python3.11', '/p'), undefined);
  const newer = { ...INFO, version: '3.11.8' };
  saveInterpreterHint(fs, '/c', newer, '/p');
  assert.equal(loadInterpreterHint(fs, '/c', 'python3', '/p'), { info: newer });
  for (let i = 0; i < 10; i++) saveInterpreterHint(fs, '/c', { ...INFO, executable: `python-${i}` }, '/p');
  assert.is(JSON.parse(String(fs.readFileSync(`/c/${HINT_FILE}`, 'utf8'))).entries.length, 8);
  assert.ok(loadInterpreterHint(fs, '/c', 'python-9', '/p'));
  assert.is(loadInterpreterHint(fs, '/c', 'python-0', '/p'), undefined, 'the oldest entries go');
  fs.writeFileSync(`/c/${HINT_FILE}`, '{"format": 1');
  assert.is(loadInterpreterHint(fs, '/c', 'python-9', '/p'), undefined, 'a damaged file is no hint');
  saveInterpreterHint(fs, '/c', INFO, '/p');
  assert.equal(loadInterpreterHint(fs, '/c', 'python3', '/p'), { info: INFO }, 'and is replaced');
});

hints('the same answer: every field the options and the pycs depend on (the working directory aside)', () => {
  assert.ok(sameAnswer(INFO, { ...INFO, cwd: '/y' }));
  assert.not.ok(sameAnswer(INFO, { ...INFO, version: '3.11.8' }));
  assert.not.ok(sameAnswer(INFO, { ...INFO, magic: 3496 }));
  assert.not.ok(sameAnswer(INFO, { ...INFO, workerDigest: 'cd'.repeat(32) }));
  assert.not.ok(sameAnswer(INFO, { ...INFO, stdlib: '/x' }), 'another stdlib: the embedded default packs another tree');
  assert.not.ok(sameAnswer(INFO, { ...INFO, resolved: '/other/python3' }), 'another binary behind the name: its workers start from it');
});

hints.run();

const packs = suite('pack: work done ahead never changes the result');

const bytesOf = (r: PackResult) => Object.fromEntries(r.outputs.map((o) => [path.basename(o.path), fs.readFileSync(o.path).toString('hex')]));

packs('a warm run checks imports from the cache with last run\'s answer, and ships the same bytes as a cold one', async () => {
  if (!havePython()) return skip('python3 is not available');
  const { top, lib } = smallStdlib();
  const cacheDir = path.join(top, 'cache');
  const cold = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'cold') });
  assert.ok(fs.existsSync(path.join(cacheDir, HINT_FILE)));
  const warm = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'warm') });
  assert.is(warm.stats.cacheMisses, 0);
  assert.is(cold.stats.warmStart, 'none');
  // python3 (an executable, or pyenv's shim) is known by its identity: its answer is taken as it is.
  assert.is(warm.stats.warmStart, 'trusted', 'the last answer taken without starting the interpreter');
  assert.equal(bytesOf(warm), bytesOf(cold));
  assert.equal(warm.kept, cold.kept);
  assert.equal(warm.omitted, cold.omitted);
  assert.equal(warm.warnings, cold.warnings);

  // A wrong hint (the interpreter "changed"): the work ahead is dropped, the result is the same.
  const file = path.join(cacheDir, HINT_FILE);
  const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  stored.entries[0][1].workerDigest = '00'.repeat(32);
  fs.writeFileSync(file, JSON.stringify(stored));
  const misled = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'misled') });
  assert.is(misled.stats.warmStart, 'stale', 'the run on the wrong answer was dropped and run again on the real one');
  assert.equal(bytesOf(misled), bytesOf(cold));
  assert.equal(misled.warnings, cold.warnings);
  assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).entries[0][1].workerDigest !== '00'.repeat(32), true, 'the hint is corrected');

  // A changed source: not all in the cache, so the real path compiles it.
  fs.appendFileSync(path.join(lib, 'stat.py'), '\nADDED = 1\n');
  const changed = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'changed') });
  assert.is(changed.stats.cacheMisses, 1);
  assert.ok(changed.stats.timings.compile > 0);
  fs.rmSync(top, { recursive: true, force: true });
});

packs('an interpreter that changed behind the same name: what was compiled ahead for the old one is dropped', async () => {
  const other = '/usr/bin/python3.11'; // Debian's 3.11.2 beside the machine's python3 (3.11.x), same magic
  const current = execFileSync('python3', ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
  if (!havePython() || !fs.existsSync(other)) return skip(`no ${other}`);
  const otherVersion = execFileSync(other, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
  if (otherVersion === current) return skip(`${other} is the same version as python3`);
  const { top, lib } = smallStdlib();
  const cacheDir = path.join(top, 'cache');
  // "python" runs whatever `target` names: switched between runs, as a user switching versions would.
  const python = path.join(top, 'python');
  const target = path.join(top, 'target');
  fs.writeFileSync(python, `#!/bin/sh\nexec "$(cat '${target}')" "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(target, other);
  await pack({ lib, cacheDir, cwd: top, buildPython: python, out: path.join(top, 'old-cold') });
  const oldWarm = await pack({ lib, cacheDir, cwd: top, buildPython: python, out: path.join(top, 'old-warm') });
  assert.is(oldWarm.stats.warmStart, 'confirmed', 'the last answer (the old interpreter) was used ahead');
  fs.writeFileSync(target, execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim());
  const switched = await pack({ lib, cacheDir, cwd: top, buildPython: python, out: path.join(top, 'switched') });
  assert.is(switched.stats.warmStart, 'stale');
  assert.is(switched.stats.cacheHits, 0, 'compiled again by the new interpreter, none of the old pycs reused');
  const fresh = await pack({ lib, cacheDir: path.join(top, 'fresh-cache'), cwd: top, buildPython: python, out: path.join(top, 'fresh') });
  assert.equal(bytesOf(switched), bytesOf(fresh));
  fs.rmSync(top, { recursive: true, force: true });
});

packs('a stdlib whose magic number names another version is refused, however much was done ahead', async () => {
  if (!havePython()) return skip('python3 is not available');
  const { top, lib } = smallStdlib();
  const cacheDir = path.join(top, 'cache');
  await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'a') });
  const file = path.join(lib, 'importlib/_bootstrap_external.py');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^MAGIC_NUMBER = \(\d+\)/m, 'MAGIC_NUMBER = (3531)'));
  try {
    await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'b') });
    assert.unreachable('a 3.12 stdlib must be refused with a 3.11 interpreter');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'ERR_PYTHON_VERSION');
  }
  fs.rmSync(top, { recursive: true, force: true });
});

packs.run();
