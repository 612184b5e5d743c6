/**
 * The interpreter guess (src/interpreter-guess.ts): the last probe's answer lets a
 * pack start before the build interpreter answers, and is never trusted.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { guessFile, readGuess } from '../src/interpreter-guess.js';
import { pack, PackError } from '../src/index.js';
import { probeInterpreter } from '../src/python.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-guess-')));
const lib = path.join(tmp, 'Lib');
for (const [file, text] of Object.entries({ 'os.py': 'import abc\n', 'abc.py': 'X = 1\n', 'json/__init__.py': 'from . import decoder\n', 'json/decoder.py': 'Y = 2\n' })) {
  fs.mkdirSync(path.dirname(path.join(lib, file)), { recursive: true });
  fs.writeFileSync(path.join(lib, file), text);
}
const cacheDir = path.join(tmp, 'cache');
const base = { lib, cacheDir, cwd: tmp, package: false as const, jobs: 1 };
const zipOf = (r: { outputs: { kind: string; path: string }[] }) => fs.readFileSync(r.outputs.find((o) => o.kind === 'zip')!.path);

// ---
const guess = suite('interpreter guess');

guess('a pack leaves the probe answer for the next run, which then starts without waiting', async () => {
  const file = guessFile(cacheDir, 'python3', tmp);
  assert.not.ok(fs.existsSync(file));
  const first = await pack({ ...base, out: path.join(tmp, 'a') });
  const saved = readGuess(fs, file);
  assert.ok(saved, 'guess written');
  assert.is(saved!.version, (await probeInterpreter('python3')).version);
  const second = await pack({ ...base, out: path.join(tmp, 'b') });
  assert.ok(zipOf(first).equals(zipOf(second)));
});

guess('a stale guess (another interpreter version) is found out before writing, and the pack is redone right', async () => {
  const file = guessFile(cacheDir, 'python3', tmp);
  const real = readGuess(fs, file)!;
  // Believed, this guess would name the outputs python312.zip and python3.12/.
  fs.writeFileSync(file, JSON.stringify({ ...real, version: '3.12.0', versionInfo: [3, 12, 0] }));
  const out = path.join(tmp, 'c');
  const result = await pack({ ...base, out });
  assert.is(result.version, '3.11');
  assert.is(result.outputs.find((o) => o.kind === 'zip')!.path, path.join(out, 'usr/local/lib/python311.zip'));
  assert.equal(fs.readdirSync(path.join(out, 'usr/local/lib')).sort(), ['python3.11', 'python311.zip']);
  assert.ok(zipOf(result).equals(zipOf(await pack({ ...base, out: path.join(tmp, 'd'), cache: false }))), 'same bytes as a pack without any guess');
  assert.is(readGuess(fs, file)!.version, real.version, 'the guess is corrected');
});

guess('a guess for an interpreter that is gone gives the probe error, and nothing is written', async () => {
  const gone = path.join(tmp, 'bin', 'python3.11');
  const real = readGuess(fs, guessFile(cacheDir, 'python3', tmp))!;
  fs.mkdirSync(path.dirname(guessFile(cacheDir, gone, tmp)), { recursive: true });
  fs.writeFileSync(guessFile(cacheDir, gone, tmp), JSON.stringify({ ...real, executable: gone }));
  const out = path.join(tmp, 'e');
  try {
    await pack({ ...base, out, buildPython: gone });
    assert.unreachable('the interpreter does not exist');
  } catch (error) {
    assert.instance(error, PackError);
    assert.is((error as PackError).code, 'ERR_PYTHON_NOT_FOUND');
  }
  assert.not.ok(fs.existsSync(out));
});

guess('no guess is read or written with --no-cache', async () => {
  const other = path.join(tmp, 'nocache');
  fs.mkdirSync(other);
  await pack({ ...base, cwd: other, cacheDir: path.join(other, 'cache'), cache: false, out: path.join(other, 'out') });
  assert.not.ok(fs.existsSync(path.join(other, 'cache')));
});

guess.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
guess.run();
