// CPython 3.11, the embedded default (issue 10's acceptance): with a python3 of 3.11 and no
// input flags, pywasm-assets packs that interpreter's own stdlib with the built-in description
// of a stock 3.11 Emscripten build: no version guessed, no rule unmatched (Debian's layout,
// which splits tkinter, idlelib and the tests into other packages, included), the target's
// sysconfigdata in the zip. The runtime proofs of 3.11 are test/pyodide.test.ts (Pyodide
// 0.25.1), test/wasi.test.ts and test/emscripten-cpython.test.ts; the Pyodide-vs-native byte
// identity is in test/pyodide-compiler.test.ts.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import { skip } from './helpers.js';
import { embeddedDefaultProblems } from './support/versions.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-3.11-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const is311 = (python: string) => spawnSync(python, ['-c', 'import sys; assert sys.version_info[:2] == (3, 11)']).status === 0;

const embedded = suite('3.11: the embedded default');

for (const python of ['python3.11', '/usr/bin/python3.11']) {
  embedded(`with ${python}: nothing guessed, nothing unmatched, the sysconfigdata written`, async () => {
    if ((python.startsWith('/') && !existsSync(python)) || !is311(python)) {
      if (process.env.CI) assert.unreachable(`CI: no CPython 3.11 at ${python}`);
      return skip(`no CPython 3.11 at ${python}`);
    }
    const result = await pack({ buildPython: python, out: join(tmp, python.replace(/\W/g, '_')), cacheDir: join(tmp, 'cache'), cwd: tmp });
    assert.is(result.version, '3.11');
    assert.equal(embeddedDefaultProblems(result), []);
  });
}

embedded.run();
