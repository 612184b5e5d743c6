/**
 * A build interpreter's identity: what its answer (version, magic, stdlib) is a
 * function of, read without starting it. A warm run whose identity matches the one
 * recorded with the last answer takes that answer as it is, without paying the
 * interpreter's start-up (~10 ms for a plain CPython, ~180 ms through pyenv's shim).
 *
 * It must never be wrong, so it is only given where every input is known, and
 * `undefined` (start it and ask) everywhere else:
 *
 * - A native executable (ELF or Mach-O, found as `spawn` finds it: the path, or the
 *   first executable of that name on PATH): the file's device, inode, size, mtime
 *   and ctime, through every symbolic link; the files next to it that move its
 *   prefix (`pyvenv.cfg`, `pybuilddir.txt`, one and two levels up); a shared
 *   libpython beside its prefix; the loader's variables (LD_LIBRARY_PATH…); and the
 *   last answer's stdlib landmark (`os.py`). The interpreter is started with -E -s
 *   -S, so PYTHON* variables do not reach it.
 * - pyenv's shim (recognised by its exact template): the whole environment (pyenv's
 *   hooks may read any variable), every `.python-version` pyenv could read from the
 *   working directory up, its global version files, the files of pyenv itself, its
 *   plugins and hooks, the installed versions, the PATH directories (a `system`
 *   version is looked up there), and then the native identity of the executable it
 *   ran last time (the last answer's `sys.executable`).
 * - Anything else (another wrapper script, a Pyodide distribution): undefined.
 *
 * ctime is part of every file's stamp: unlike mtime, no tool can set it back, so a
 * file replaced by `cp -a` or `tar` with its old mtime still differs.
 */
import nodeFs from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readFileHead } from '../read-file.js';

/** The last answer's fields the identity also covers. */
export interface AnsweredBy {
  /** `sys.executable` of the last answer (the program a launcher ran). */
  resolved: string;
  /** The last answer's stdlib directory, if any. */
  stdlib?: string;
}

/** Variables of the dynamic loader: they can swap a shared libpython under the same executable. */
const LOADER_VARIABLES = /^(LD_|DYLD_)/;

const SHIM = /^#!\/usr\/bin\/env bash\nset -e\n\[ -n "\$PYENV_DEBUG" \] && set -x\n\nprogram="\$\{0##\*\/\}"\n\nexport PYENV_ROOT="([^"\n]+)"\n[\s\S]*\nexec "([^"\n]+)\/libexec\/pyenv" exec "\$program" "\$@"\n?$/;

/** Variables a shell changes from one command to the next, which no launcher reads. */
const SHELL_NOISE = new Set(['OLDPWD', '_', 'SHLVL']);

/** A directory's entry names, sorted; none when it cannot be read. */
function names(dir: string): string[] {
  try {
    return nodeFs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Milliseconds: a file changed this recently may change again within the clock's granularity (the racy-git rule). */
export const RACY_MS = 2000;

/**
 * A file's stamp: device, inode, size, mtime and ctime (ns). Equal stamps taken before
 * and after a change are ruled out only for files older than RACY_MS (see above).
 */
export const fileStamp = (s: nodeFs.BigIntStats) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

/** A path's stamp: its mode and file stamp; through a symbolic link, also the target's. */
function stamp(file: string, newest: { ns: bigint }): string {
  let lstat;
  try {
    lstat = nodeFs.lstatSync(file, { bigint: true });
  } catch {
    return '-';
  }
  const one = (s: nodeFs.BigIntStats) => {
    if (s.ctimeNs > newest.ns) newest.ns = s.ctimeNs;
    if (s.mtimeNs > newest.ns) newest.ns = s.mtimeNs;
    return `${s.mode.toString(8)}:${fileStamp(s)}`;
  };
  if (!lstat.isSymbolicLink()) return one(lstat);
  let target = '-';
  try {
    target = `${one(nodeFs.statSync(file, { bigint: true }))}@${nodeFs.realpathSync(file)}`;
  } catch {
    // a dangling link: its own stamp says enough
  }
  return `${one(lstat)}>${target}`;
}

/** Stamps of every entry below `dir` (depth-limited), sorted; '-' when it does not exist. */
function treeStamp(dir: string, newest: { ns: bigint }, depth = 3): string {
  let entries: nodeFs.Dirent[];
  try {
    entries = nodeFs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return '-';
  }
  const parts = [stamp(dir, newest)];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const file = path.join(dir, entry.name);
    parts.push(`${entry.name}=${stamp(file, newest)}`);
    if (entry.isDirectory() && depth > 1) parts.push(`${entry.name}/{${treeStamp(file, newest, depth - 1)}}`);
  }
  return parts.join(',');
}

/** The file `spawn(command, { cwd })` runs: a path as given, a bare name from PATH. */
export function commandPath(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (command.includes('/')) return path.resolve(cwd, command);
  for (const dir of (env.PATH ?? '').split(':')) {
    const candidate = path.resolve(cwd, dir, command);
    try {
      nodeFs.accessSync(candidate, nodeFs.constants.X_OK);
      if (nodeFs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The first bytes of `file` (for its kind), or undefined when it is no readable regular file. */
function head(file: string): Buffer | undefined {
  try {
    return readFileHead(nodeFs, file, 4096);
  } catch {
    return undefined;
  }
}

const NATIVE_MAGICS = ['7f454c46', 'feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe'];
const isNative = (bytes: Buffer) => bytes.length >= 4 && NATIVE_MAGICS.includes(bytes.subarray(0, 4).toString('hex'));

/** The stamps a native interpreter's answer depends on (see the module comment). */
function nativeParts(file: string, answer: AnsweredBy | undefined, env: NodeJS.ProcessEnv, newest: { ns: bigint }): string[] | undefined {
  const bytes = head(file);
  if (!bytes || !isNative(bytes)) return undefined;
  let real: string;
  try {
    real = nodeFs.realpathSync(file);
  } catch {
    return undefined;
  }
  const parts = [`native ${file}`, stamp(file, newest), `real ${real}`];
  const near = new Set<string>();
  for (const base of [path.dirname(file), path.dirname(real)]) {
    near.add(base);
    near.add(path.dirname(base));
  }
  for (const dir of near) for (const name of ['pyvenv.cfg', 'pybuilddir.txt']) parts.push(`${dir}/${name}=${stamp(path.join(dir, name), newest)}`);
  const libDir = path.join(path.dirname(path.dirname(real)), 'lib');
  try {
    for (const name of nodeFs.readdirSync(libDir).filter((n) => n.startsWith('libpython')).sort()) parts.push(`${name}=${stamp(path.join(libDir, name), newest)}`);
  } catch {
    // no lib/ beside it
  }
  if (answer?.stdlib) parts.push(`stdlib ${answer.stdlib}=${stamp(path.join(answer.stdlib, 'os.py'), newest)}`);
  parts.push(...Object.keys(env).filter((k) => LOADER_VARIABLES.test(k)).sort().map((k) => `${k}=${env[k]}`));
  return parts;
}

/** The stamps pyenv's choice depends on, then the chosen executable's (see the module comment). */
function pyenvParts(shim: string, text: string, cwd: string, answer: AnsweredBy | undefined, env: NodeJS.ProcessEnv, newest: { ns: bigint }): string[] | undefined {
  const m = SHIM.exec(text);
  if (!m || !answer) return undefined;
  const [, root, prefix] = m;
  const parts = [`pyenv ${shim}`, text, `cwd ${cwd}`];
  parts.push(...Object.keys(env).filter((k) => !SHELL_NOISE.has(k)).sort().map((k) => `env ${k}=${env[k]}`));
  for (const start of new Set([env.PYENV_DIR, env.PWD, cwd].filter((d): d is string => !!d))) {
    for (let dir = path.resolve(cwd, start); ; dir = path.dirname(dir)) {
      parts.push(`${dir}/.python-version=${stamp(path.join(dir, '.python-version'), newest)}`);
      if (dir === path.dirname(dir)) break;
    }
  }
  for (const name of ['version', 'global', 'default']) parts.push(`${name}=${stamp(path.join(root, name), newest)}`);
  // pyenv itself, its plugins' commands and every hook directory it would search.
  const dirs = [...(env.PYENV_HOOK_PATH ?? '').split(':').filter(Boolean), path.join(root, 'pyenv.d'), path.join(prefix, 'pyenv.d'), '/usr/etc/pyenv.d', '/usr/local/etc/pyenv.d', '/etc/pyenv.d', '/usr/lib/pyenv/hooks'];
  for (const plugins of new Set([path.join(root, 'plugins'), path.join(prefix, 'plugins')])) {
    parts.push(`${plugins}=${stamp(plugins, newest)}`);
    for (const plugin of names(plugins)) dirs.push(path.join(plugins, plugin, 'etc/pyenv.d'), path.join(plugins, plugin, 'bin'));
  }
  dirs.push(path.join(prefix, 'libexec'));
  for (const dir of new Set(dirs)) parts.push(`${dir}={${treeStamp(dir, newest)}}`);
  // The installed versions, and the program in each (pyenv-which takes the first version that has it).
  const versions = path.join(root, 'versions');
  const program = path.basename(shim);
  parts.push(`${versions}=${stamp(versions, newest)}`);
  for (const version of names(versions)) {
    const bin = path.join(versions, version, 'bin');
    parts.push(`${version}=${stamp(path.join(versions, version), newest)},${stamp(bin, newest)},${stamp(path.join(bin, program), newest)}`);
  }
  for (const dir of (env.PATH ?? '').split(':')) parts.push(`PATH ${dir}=${stamp(path.resolve(cwd, dir), newest)}`);
  const ran = path.resolve(cwd, answer.resolved);
  const native = nativeParts(ran, answer, env, newest);
  return native && [...parts, ...native];
}

/**
 * The identity of `executable` as `cwd` would run it, for the answer `answer` gave
 * last time; undefined when it cannot be known without running it, or when a file
 * it covers changed within the last RACY_MS before `notBefore` (epoch ms) when given.
 */
export function interpreterIdentity(executable: string, cwd: string, answer?: AnsweredBy, options: { env?: NodeJS.ProcessEnv; notBefore?: number } = {}): string | undefined {
  const env = options.env ?? process.env;
  const file = commandPath(executable, cwd, env);
  if (!file) return undefined;
  const newest = { ns: 0n };
  let parts: string[] | undefined;
  const bytes = head(file);
  if (!bytes) return undefined;
  if (isNative(bytes)) parts = nativeParts(file, answer, env, newest);
  else if (bytes.subarray(0, 2).toString() === '#!' && bytes.length < 4096) parts = pyenvParts(file, bytes.toString('utf8'), cwd, answer, env, newest);
  if (!parts) return undefined;
  if (options.notBefore !== undefined && newest.ns >= BigInt(Math.floor(options.notBefore - RACY_MS)) * 1_000_000n) return undefined;
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
