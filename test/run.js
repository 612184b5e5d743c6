#!/usr/bin/env node
// Runs every test file with uvu (through tsx) and ends with one line
// `N passed, N failed`, the summary CI reads. uvu's own summary stays above it.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pattern = process.argv[2] ?? '\\.test\\.ts$';

// The real parts each test file runs against (test/support/prepare.sh makes them, once per
// machine, cached in .cache/). `npm test -- <regex>` runs some files and prepares only theirs;
// PYWASM_PREPARE=0 skips the step (the tests then say what is missing, and fail under CI).
const NEEDS = {
  'reference.test.ts': ['sources', 'python-3.13'],
  'pyscan.test.ts': ['sources'],
  'imports.test.ts': ['sources'],
  'version-3.13.test.ts': ['python-3.13'],
  'pyodide-compiler.test.ts': ['sources', 'python-3.13'],
  'wasi.test.ts': ['sources', 'wasi'],
  'emscripten-cpython.test.ts': ['sources', 'emscripten'],
  'build-descriptions.test.ts': ['emscripten'],
  'pyodide-dropin-0.29.test.ts': ['python-3.13'],
};
const selected = readdirSync(join(root, 'test')).filter((f) => new RegExp(pattern).test(f));
const parts = [...new Set(selected.flatMap((f) => NEEDS[f] ?? []))];
if (parts.length && process.env.PYWASM_PREPARE !== '0') {
  const started = Date.now();
  const prep = spawnSync('bash', [join(root, 'test/support/prepare.sh'), ...parts], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (prep.status !== 0) {
    console.log(`test/support/prepare.sh ${parts.join(' ')} failed (exit ${prep.status ?? prep.signal}); the tests that need it will fail`);
  } else {
    console.log(`prepared ${parts.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'node_modules/uvu/bin.js'), 'test', pattern],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
);
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk;
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    // uvu crashed before its summary (e.g. a test file failed to import).
    console.log(`0 passed, 1 failed`);
    process.exitCode = 1;
    return;
  }
  // uvu's Total counts run tests only (skipped ones are not in it).
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || code !== 0 ? 1 : 0;
});
