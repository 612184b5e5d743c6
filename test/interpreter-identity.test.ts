// Tests of the build interpreter's identity (src/cache/interpreter-identity.ts): a warm run
// takes the last answer without starting the interpreter only while that identity holds, so
// every change that can change the answer must change it. Real files: a copy of Debian's
// python3.11, shell wrappers, and a pyenv root of our own (the shim is pyenv's template; its
// `pyenv exec` picks the version from PYENV_VERSION, .python-version or the global file).
// The end-to-end case switches the version behind the same shim between two real
// interpreters (Debian's 3.11.2 and the machine's python3), as a user of pyenv would.
// Cost: ~10 s (two 2 s waits: files younger than that are never trusted).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack, type PackResult } from '../src/index.js';
import { commandPath, interpreterIdentity, RACY_MS } from '../src/cache/interpreter-identity.js';
import { havePython, makeTmp, REPO, rmTmp, skip, smallStdlib } from './helpers.js';

const DEBIAN = '/usr/bin/python3.11';
const haveDebian = fs.existsSync(DEBIAN) && fs.readFileSync(DEBIAN).subarray(0, 4).toString('hex') === '7f454c46';
const versionOf = (python: string) => execFileSync(python, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
/** The machine's python3 as a real executable (through pyenv's shim, if that is what python3 is). */
const machinePython = () => execFileSync('python3', ['-c', 'import sys, os; print(os.path.realpath(sys.executable))'], { encoding: 'utf8' }).trim();

/** pyenv's shim, as `pyenv rehash` writes it for `root`. */
const shimText = (root: string) => `#!/usr/bin/env bash
set -e
[ -n "$PYENV_DEBUG" ] && set -x

program="\${0##*/}"

export PYENV_ROOT="${root}"
SHIM_PATH=\${0%/*}
if [[ $SHIM_PATH != "${root}/shims" ]]; then
  export _PYENV_SHIM_PATH="$SHIM_PATH"
fi
exec "${root}/libexec/pyenv" exec "$program" "$@"
`;

/** A minimal `pyenv exec`: the version from PYENV_VERSION, the nearest .python-version, or the global file; each start is logged. */
const PYENV = `#!/usr/bin/env bash
set -e
[ "$1" = exec ] || exit 2
echo "$*" >> "$PYENV_ROOT/exec.log"
program="$2"; shift 2
v="$PYENV_VERSION"
if [ -z "$v" ]; then
  d="$PWD"
  while :; do
    if [ -f "$d/.python-version" ]; then v=$(head -n1 "$d/.python-version"); break; fi
    [ -z "$d" ] && break
    d="\${d%/*}"
  done
fi
[ -n "$v" ] || v=$(head -n1 "$PYENV_ROOT/version")
exec "$PYENV_ROOT/versions/$v/bin/$program" "$@"
`;

/** A pyenv root below `top` with versions `a` → `pa` and `b` → `pb` (symbolic links), `a` global. */
function pyenvRoot(top: string, pa: string, pb: string): { root: string; shim: string } {
  const root = path.join(top, 'pyenv');
  for (const [v, target] of [['a', pa], ['b', pb]]) {
    fs.mkdirSync(path.join(root, 'versions', v, 'bin'), { recursive: true });
    fs.symlinkSync(target, path.join(root, 'versions', v, 'bin', 'python3'));
  }
  fs.mkdirSync(path.join(root, 'libexec'), { recursive: true });
  fs.mkdirSync(path.join(root, 'shims'));
  fs.mkdirSync(path.join(root, 'pyenv.d', 'exec'), { recursive: true });
  fs.writeFileSync(path.join(root, 'libexec', 'pyenv'), PYENV, { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'version'), 'a\n');
  const shim = path.join(root, 'shims', 'python3');
  fs.writeFileSync(shim, shimText(root), { mode: 0o755 });
  return { root, shim };
}

const identity = suite('interpreter identity');

identity('a native executable: its stamp (ctime too, which no tool sets back), found as spawn finds it', () => {
  if (!haveDebian) return skip(`no ${DEBIAN}`);
  const top = makeTmp('pywasm-identity-');
  const bin = path.join(top, 'bin');
  fs.mkdirSync(bin);
  const python = path.join(bin, 'python');
  fs.copyFileSync(DEBIAN, python);
  fs.chmodSync(python, 0o755);
  const answer = { resolved: python, stdlib: '/usr/lib/python3.11' };
  const first = interpreterIdentity(python, top, answer);
  assert.ok(first, 'an ELF executable has an identity');
  assert.is(interpreterIdentity(python, top, answer), first, 'stable');
  assert.is(interpreterIdentity('python', top, answer, { env: { PATH: bin } }), first, 'a bare name found on PATH is the same file');
  assert.is(commandPath('python', top, { PATH: `${path.join(top, 'none')}:${bin}` }), python);
  assert.is(interpreterIdentity('python', top, answer, { env: { PATH: path.join(top, 'none') } }), undefined, 'not on PATH: nothing to know');
  assert.is.not(interpreterIdentity(python, top, answer, { env: { LD_LIBRARY_PATH: '/opt/lib' } }), first, 'the loader may load another libpython');
  assert.is.not(interpreterIdentity(python, top, { ...answer, stdlib: '/elsewhere' }), first, 'another stdlib landmark');
  fs.writeFileSync(path.join(top, 'pyvenv.cfg'), 'home = /usr/bin\n');
  assert.is.not(interpreterIdentity(python, top, answer), first, 'a pyvenv.cfg moves its prefix');
  fs.rmSync(path.join(top, 'pyvenv.cfg'));
  const { atime, mtime } = fs.statSync(python);
  const before = interpreterIdentity(python, top, answer);
  fs.writeFileSync(python, fs.readFileSync(DEBIAN)); // the same bytes rewritten...
  fs.utimesSync(python, atime, mtime); // ...and the old mtime put back, as cp -a or tar would
  assert.is.not(interpreterIdentity(python, top, answer), before, 'ctime still tells');
  assert.is(interpreterIdentity(python, top, answer, { notBefore: Date.now() }), undefined, `changed within ${RACY_MS} ms: not recorded`);
  rmTmp(top);
});

identity('a wrapper script other than pyenv\'s shim has no identity: it is always asked', () => {
  const top = makeTmp('pywasm-identity-');
  const wrapper = path.join(top, 'python');
  fs.writeFileSync(wrapper, '#!/bin/sh\nexec python3 "$@"\n', { mode: 0o755 });
  assert.is(interpreterIdentity(wrapper, top, { resolved: '/usr/bin/python3.11' }), undefined);
  const { shim } = pyenvRoot(top, DEBIAN, DEBIAN);
  fs.appendFileSync(shim, '# edited\n');
  assert.is(interpreterIdentity(shim, top, { resolved: DEBIAN }), undefined, 'a shim that is not exactly the template');
  rmTmp(top);
});

identity('pyenv\'s shim: every input of its choice is covered', () => {
  if (!haveDebian) return skip(`no ${DEBIAN}`);
  const top = makeTmp('pywasm-identity-');
  const copy = path.join(top, 'python3.11'); // a file of our own to touch (never /usr/bin's)
  fs.copyFileSync(DEBIAN, copy);
  const { root, shim } = pyenvRoot(top, copy, copy);
  const project = path.join(top, 'project');
  fs.mkdirSync(project);
  const answer = { resolved: path.join(root, 'versions/a/bin/python3'), stdlib: '/usr/lib/python3.11' };
  const env = { PATH: `${root}/shims:/usr/bin:/bin`, HOME: top, OLDPWD: '/x' };
  const id = (e: NodeJS.ProcessEnv = env) => interpreterIdentity(shim, project, answer, { env: e });
  const first = id();
  assert.ok(first, 'the template shim has an identity');
  assert.is(interpreterIdentity(shim, project, undefined, { env }), undefined, 'not without the executable it ran last');
  assert.is(id({ ...env, OLDPWD: '/y', SHLVL: '3' }), first, 'what a shell changes between commands does not count');
  assert.is.not(id({ ...env, PYENV_VERSION: 'b' }), first, 'PYENV_VERSION');
  assert.is.not(id({ ...env, SOME_HOOK_SETTING: '1' }), first, 'any other variable (a hook may read it)');
  const changes: [string, () => void][] = [
    ['a .python-version in the working directory', () => fs.writeFileSync(path.join(project, '.python-version'), 'b\n')],
    ['a .python-version above it', () => fs.writeFileSync(path.join(top, '.python-version'), 'b\n')],
    ['the global version file', () => fs.writeFileSync(path.join(root, 'version'), 'b\n')],
    ['a hook', () => fs.writeFileSync(path.join(root, 'pyenv.d', 'exec', 'x.bash'), '')],
    ['pyenv itself', () => fs.appendFileSync(path.join(root, 'libexec', 'pyenv'), '\n')],
    ['a plugin', () => fs.mkdirSync(path.join(root, 'plugins', 'p', 'etc', 'pyenv.d', 'which'), { recursive: true })],
    ['a new version', () => fs.mkdirSync(path.join(root, 'versions', 'c', 'bin'), { recursive: true })],
    ['the program in another version', () => fs.rmSync(path.join(root, 'versions', 'b', 'bin', 'python3'))],
    ['the executable it ran', () => fs.utimesSync(copy, fs.statSync(copy).atime, fs.statSync(copy).mtime)],
  ];
  let previous = first;
  for (const [what, change] of changes) {
    change();
    const now = id();
    assert.ok(now, what);
    assert.is.not(now, previous, what);
    previous = now;
  }
  rmTmp(top);
});

identity.run();

const packs = suite('pack: an answer taken by identity is never stale');

packs('switching the version behind the same pyenv shim: asked again, and the same bytes as a fresh cache', async () => {
  if (!havePython() || !haveDebian) return skip(`needs python3 and ${DEBIAN}`);
  const machine = machinePython();
  if (versionOf(machine) === versionOf(DEBIAN)) return skip(`${machine} is the same version as ${DEBIAN}`);
  const { top, lib } = smallStdlib();
  const { shim } = pyenvRoot(top, DEBIAN, machine);
  const project = path.join(top, 'project');
  fs.mkdirSync(project);
  await new Promise((resolve) => setTimeout(resolve, RACY_MS + 100)); // the tree is new: let it age
  const cacheDir = path.join(top, 'cache');
  const run = (out: string, cache = cacheDir) => pack({ lib, cacheDir: cache, cwd: project, buildPython: shim, out: path.join(top, out) });
  const bytes = (r: PackResult) => Object.fromEntries(r.outputs.map((o) => [path.basename(o.path), fs.readFileSync(o.path).toString('hex')]));

  const cold = await run('cold');
  assert.is(cold.stats.warmStart, 'none');
  const warm = await run('warm');
  assert.is(warm.stats.warmStart, 'trusted', 'the shim was not started');
  assert.is(warm.stats.cacheMisses, 0);
  assert.equal(bytes(warm), bytes(cold));

  fs.writeFileSync(path.join(project, '.python-version'), 'b\n'); // the user switches versions here
  const switched = await run('switched');
  assert.is(switched.stats.warmStart, 'stale', 'the identity changed, so it was asked, and answered another version');
  assert.is(switched.stats.cacheHits, 0, 'nothing compiled by the other interpreter reused');
  const fresh = await run('fresh', path.join(top, 'fresh-cache'));
  assert.equal(bytes(switched), bytes(fresh));
  assert.is.not(bytes(switched)['python311.zip'], undefined);
  const again = await run('again');
  assert.is(again.stats.warmStart, 'confirmed', 'a .python-version written a moment ago is not trusted yet: asked again');
  assert.equal(bytes(again), bytes(fresh));
  rmTmp(top);
});

packs('the CLI, warm, with a trusted answer and a reused result: the shim is not started at all', async () => {
  if (!havePython() || !haveDebian) return skip(`needs python3 and ${DEBIAN}`);
  const { top, lib } = smallStdlib();
  const { root, shim } = pyenvRoot(top, machinePython(), DEBIAN);
  const project = path.join(top, 'project');
  fs.mkdirSync(project);
  await new Promise((resolve) => setTimeout(resolve, RACY_MS + 100));
  const log = path.join(root, 'exec.log');
  const starts = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
  const run = (out: string) =>
    JSON.parse(execFileSync(process.execPath, [path.join(REPO, 'bin/pywasm-assets.js'), 'pack', '--lib', lib, '--build-python', shim, '--out', path.join(top, out), '--cache-dir', path.join(top, 'cache'), '--json'], { cwd: project, encoding: 'utf8' }));
  const cold = run('cold');
  assert.is(starts(), 1, 'cold: the probe went through the shim (the workers start its python directly)');
  const before = starts();
  const warm = run('warm');
  assert.is(warm.stats.warmStart, 'trusted');
  assert.is(warm.stats.reused, true);
  assert.is(starts(), before, 'warm: neither the CLI\'s prefetch nor pack() started it');
  assert.equal(warm.kept, cold.kept);
  for (const name of ['usr/local/lib/python311.zip', 'python-stdlib.data']) {
    assert.ok(fs.readFileSync(path.join(top, 'warm', name)).equals(fs.readFileSync(path.join(top, 'cold', name))), name);
  }
  rmTmp(top);
});

packs.run();
