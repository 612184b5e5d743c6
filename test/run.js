#!/usr/bin/env node
// Runs every test file with uvu (through tsx) and ends with one line
// `N passed, N failed`, the summary CI reads. uvu's own summary stays above it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pattern = process.argv[2] ?? '\\.test\\.ts$';
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
