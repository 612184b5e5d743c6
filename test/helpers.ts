/**
 * Small shared helpers for the unit tests: in-memory trees (memfs), temporary
 * real directories, the machine's python3, and PackError assertions.
 */
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memfs, type NestedDirectoryJSON } from 'memfs';
import * as assert from 'uvu/assert';
import { PackError, type PackErrorCode } from '../src/errors.js';
import type { PackFs } from '../src/types.js';

export type Tree = NestedDirectoryJSON;

/** The repository root (tests may run from another working directory). */
export const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Where makeFs() roots its trees: relative paths in a tree land below it. */
export const ROOT = '/py';

/**
 * A memfs file system holding `tree` below `/py` (absolute keys are kept as is):
 * `makeFs({ 'Lib/os.py': '', 'Lib/json/__init__.py': '' })`.
 */
export function makeFs(tree: Tree = {}): PackFs {
  return memfs(tree, ROOT).fs as unknown as PackFs;
}

/** Every file below `dir` on `fs`, POSIX and sorted, relative to `dir`. */
export function listFiles(fs: PackFs, dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.posix.join(dir, rel)).map(String)) {
      const child = rel ? `${rel}/${name}` : name;
      if (fs.statSync(path.posix.join(dir, child)).isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** A fresh real directory under os.tmpdir(); remove it with `rmTmp`. */
export function makeTmp(prefix = 'pywasm-assets-test-'): string {
  return nodeFs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmTmp(dir: string): void {
  nodeFs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `files` (relative path → text) below `dir` on the real disk. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    nodeFs.mkdirSync(path.dirname(file), { recursive: true });
    nodeFs.writeFileSync(file, text);
  }
}

let pythonChecked: boolean | undefined;

/** Is the machine's python3 usable? Tests that need it skip (and say why) when not. */
export function havePython(): boolean {
  pythonChecked ??= spawnSync('python3', ['-c', 'pass']).status === 0;
  return pythonChecked;
}

/** Runs `python3 -I -c script args...`; fails the test on a non-zero exit. Returns stdout. */
export function runPython(script: string, args: string[] = [], input?: string | Uint8Array): string {
  const run = spawnSync('python3', ['-I', '-c', script, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.error) throw run.error;
  assert.is(run.status, 0, `python3 failed: ${run.stderr}`);
  return run.stdout;
}

/** Prints why a test did not run its assertions. */
export function skip(why: string): void {
  console.log(`  skipped: ${why}`);
}

/**
 * Asserts that `fn` throws a PackError with `code` whose message contains every
 * fragment (strings or regexps). Returns the error for further checks.
 */
export function throwsPackError(fn: () => unknown, code: PackErrorCode, ...fragments: (string | RegExp)[]): PackError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkPackError(caught, code, fragments);
}

/** The async form of `throwsPackError`. */
export async function rejectsPackError(
  fn: () => Promise<unknown>,
  code: PackErrorCode,
  ...fragments: (string | RegExp)[]
): Promise<PackError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  return checkPackError(caught, code, fragments);
}

function checkPackError(caught: unknown, code: PackErrorCode, fragments: (string | RegExp)[]): PackError {
  if (caught === undefined) assert.unreachable(`expected a PackError ${code}, but nothing was thrown`);
  assert.instance(caught, PackError, `expected a PackError, got ${String(caught)}`);
  const error = caught as PackError;
  assert.is(error.code, code, `code of "${error.message}"`);
  for (const fragment of fragments) assert.match(error.message, fragment);
  return error;
}

/**
 * A small copy of the machine's stdlib (os.py and what a pack of it imports) in a new
 * temporary directory: `{ top, lib: top/Lib }`. The caller removes `top`.
 */
export function smallStdlib(): { top: string; lib: string } {
  const stdlib = runPython('import sysconfig; print(sysconfig.get_paths()["stdlib"])').trim();
  const top = makeTmp('pywasm-small-');
  const lib = path.join(top, 'Lib');
  for (const rel of ['os.py', 'posixpath.py', 'genericpath.py', 'stat.py', 'abc.py', 'codecs.py', 'io.py', 'importlib/_bootstrap_external.py', 'importlib/__init__.py', 'encodings']) {
    nodeFs.cpSync(path.join(stdlib, rel), path.join(lib, rel), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  }
  return { top, lib };
}
