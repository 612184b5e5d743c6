/**
 * Issue 13: no run writes outside --out and the cache directory, and a hostile
 * stdlib tree or cache directory (FIFOs, a link to /dev/zero, links to `.`, a
 * package link loop) ends in bounded time with a warning, not a hang.
 *
 * Each run is the real CLI in a child process (the real python3, real FIFOs and
 * symbolic links in a temporary directory), killed after RUN_TIMEOUT_MS so that a
 * regression fails instead of hanging the suite. Two checks of where it wrote:
 * - every path a write syscall named (open for writing, mkdir, rename, unlink, link,
 *   truncate ...), traced with strace -f across the interpreter workers, when strace
 *   can trace here (it says so and relies on the second check when not);
 * - a snapshot of the whole temporary directory, the tree, the working directory and
 *   the directories above --out included, before and after.
 */
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from './helpers.js';
import { filesUnder, HAS_PYTHON3, makeTmp, PYTHON3, rmTmp, SMALL_LIB, writeTree } from './fixtures/errors/support.js';

const RUN_TIMEOUT_MS = 120_000;
const TSX = pathToFileURL(createRequire(path.join(REPO, 'package.json')).resolve('tsx')).href;
const CLI = path.join(REPO, 'src', 'cli.ts');

/** The syscalls that create, change or remove a name or a file's contents. */
const WRITE_CALLS = ['open', 'openat', 'creat', 'mkdir', 'mkdirat', 'rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'rmdir', 'link', 'linkat', 'symlink', 'symlinkat', 'truncate', 'mknod', 'mknodat', 'chmod', 'fchmodat', 'utimensat'];

let straceWorks: boolean | undefined;
function canTrace(): boolean {
  if (straceWorks === undefined) {
    const probe = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', '/dev/null', 'true']);
    straceWorks = !probe.error && probe.status === 0;
    // CI installs strace (.ci/run): there the trace must run, not quietly fall back.
    if (!straceWorks && process.env.CI) throw new Error(`CI: strace cannot trace here (${probe.error?.message ?? `exit ${probe.status}: ${String(probe.stderr).trim()}`})`);
    if (!straceWorks) console.log('confinement.test.ts: strace cannot trace here; only the directory snapshots check where runs write.');
  }
  return straceWorks;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Absolute paths the run (and its children) named in write syscalls; undefined when not traced. */
  writes?: string[];
}

/**
 * Paths named by the write syscalls of an strace -f log. An open counts when its flags
 * write (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC); a path relative to the working directory
 * is resolved against `cwd`; one relative to another descriptor is kept as `<dirfd>/path`,
 * which no allowed prefix matches.
 */
function writesOf(log: string, cwd: string): string[] {
  const out: string[] = [];
  const call = new RegExp(`^\\d+\\s+(${WRITE_CALLS.join('|')})\\((.*)`);
  for (const line of log.split('\n')) {
    const m = call.exec(line);
    if (!m) continue;
    const [, name, rest] = m;
    if (/^open/.test(name) && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(rest)) continue;
    // Each path argument, with the directory descriptor before it when the call takes one.
    for (const arg of rest.matchAll(/(?:(AT_FDCWD|\d+), )?"((?:[^"\\]|\\.)*)"/g)) {
      const [, dirfd, quoted] = arg;
      const p = JSON.parse(`"${quoted.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')}"`) as string;
      if (path.isAbsolute(p)) out.push(path.normalize(p));
      else if (dirfd === undefined || dirfd === 'AT_FDCWD') out.push(path.resolve(cwd, p));
      else out.push(`<fd ${dirfd}>/${p}`);
    }
  }
  return out;
}

/** `pywasm-assets <argv>` in a child process with `cwd`, traced when strace can. */
function runCli(argv: string[], cwd: string, env: Record<string, string> = {}): Run {
  const script = `const { main } = await import(${JSON.stringify(pathToFileURL(CLI).href)}); process.exitCode = await main(JSON.parse(process.env.PACK_ARGV));`;
  const node = [process.execPath, '--import', TSX, '--input-type=module', '-e', script];
  const log = path.join(makeTmp('pywasm-trace-'), 'trace');
  const traced = canTrace();
  // A session of its own (setsid execs in place: its pid is the group's), so that on a timeout the
  // whole group goes, the traced run and its interpreter workers too, not strace alone.
  const command = ['setsid', '-w', ...(traced ? ['strace', '-f', '-qq', '-e', 'signal=none', '-e', `trace=${WRITE_CALLS.join(',')}`, '-o', log] : []), ...node];
  let pid: number | undefined;
  try {
    const run = spawnSync(command[0], command.slice(1), {
      cwd,
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      // tsx's own compile cache (in os.tmpdir()) is the harness's, not the run's: off.
      env: { ...process.env, ...env, PACK_ARGV: JSON.stringify(argv), TSX_DISABLE_CACHE: '1', FORCE_COLOR: '0' },
      maxBuffer: 64 << 20,
    });
    pid = run.pid;
    assert.ok(!run.error, `pywasm-assets ${argv.join(' ')} did not end within ${RUN_TIMEOUT_MS / 1000} s (${run.error?.message})`);
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, writes: traced ? writesOf(nodeFs.readFileSync(log, 'utf8'), cwd) : undefined };
  } finally {
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is gone: the usual case
      }
    }
    rmTmp(path.dirname(log));
  }
}

/** Every entry below `dir` (directories too, with their kind and size): what a run may not change outside its outputs. */
function snapshot(dir: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (abs: string, rel: string) => {
    for (const name of nodeFs.readdirSync(abs)) {
      const childAbs = path.join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = nodeFs.lstatSync(childAbs);
      seen.set(childRel, st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link ${nodeFs.readlinkSync(childAbs)}` : st.isFile() ? `file ${st.size} ${st.mtimeMs}` : `other ${st.mode}`);
      if (st.isDirectory()) walk(childAbs, childRel);
    }
  };
  walk(dir, '');
  return seen;
}

/** The entries that differ between two snapshots, but those below `allowed` (relative). */
function changedOutside(before: Map<string, string>, after: Map<string, string>, allowed: string[]): string[] {
  const ok = (rel: string) => allowed.some((a) => rel === a || rel.startsWith(`${a}/`));
  const changed = new Set<string>();
  for (const [rel, what] of before) if (after.get(rel) !== what && !ok(rel)) changed.add(rel);
  for (const rel of after.keys()) if (!before.has(rel) && !ok(rel)) changed.add(rel);
  return [...changed].sort();
}

/** The traced writes that are neither below `out` nor below `cache` (nor /dev/null). */
function writesOutside(run: Run, out: string, cache: string): string[] {
  const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + path.sep);
  return (run.writes ?? []).filter((p) => !inside(p, out) && !inside(p, cache) && p !== '/dev/null');
}

interface Layout {
  top: string;
  lib: string;
  cwd: string;
  out: string;
  cache: string;
}

/** A temporary directory: Lib/ (SMALL_LIB plus `extra`), an empty working directory, --out three levels down, a cache. */
function layout(top: string, extra: Record<string, string> = {}): Layout {
  const l = { top, lib: path.join(top, 'Lib'), cwd: path.join(top, 'cwd'), out: path.join(top, 'd1', 'd2', 'd3', 'out'), cache: path.join(top, 'cache') };
  writeTree(l.lib, { ...SMALL_LIB, ...extra });
  nodeFs.mkdirSync(l.cwd);
  nodeFs.mkdirSync(path.dirname(l.out), { recursive: true });
  return l;
}

const base = (l: Layout) => ['pack', '--lib', l.lib, '--out', l.out, '--cache-dir', l.cache, '--build-python', PYTHON3 ?? 'python3', '--jobs', '1'];

/** Runs the CLI and checks both ways that it wrote nothing but below --out and the cache. */
function confinedRun(l: Layout, argv: string[], env?: Record<string, string>): Run {
  const before = snapshot(l.top);
  const run = runCli(argv, l.cwd, env);
  const allowed = [path.relative(l.top, l.out), path.relative(l.top, l.cache)];
  assert.equal(changedOutside(before, snapshot(l.top), allowed), [], `pywasm-assets ${argv.join(' ')} changed files outside --out and the cache`);
  assert.equal(writesOutside(run, l.out, l.cache), [], `pywasm-assets ${argv.join(' ')} wrote outside --out and the cache`);
  return run;
}

function inTop(fn: (top: string) => void): () => void {
  return () => {
    if (!HAS_PYTHON3) return console.log('  skipped: no python3 (3.8+) here');
    const top = nodeFs.realpathSync(makeTmp());
    try {
      fn(top);
    } finally {
      rmTmp(top);
    }
  };
}

function mkfifo(file: string): void {
  const made = spawnSync('mkfifo', [file]);
  assert.ok(!made.error && made.status === 0, `mkfifo ${file}: ${made.error?.message ?? made.stderr}`);
}

const zipOf = (out: string) => filesUnder(out).find((f) => f.endsWith('.zip'))!;

// ---
const trace = suite('confinement: the trace itself');

trace('sees a write outside --out (so that the checks below can fail)', inTop((top) => {
  if (!canTrace()) return console.log('  skipped: strace cannot trace here');
  const l = layout(top);
  const stray = path.join(top, 'stray');
  // Not pack: a script that writes beside --out, through the same runner and parser.
  const run = runCli(['--help'], l.cwd, {});
  assert.is(run.status, 0, run.stderr);
  assert.equal(run.writes, [], 'pywasm-assets --help writes nothing');
  const log = [`1 openat(AT_FDCWD, "${stray}", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3`, '2 mkdir("rel", 0777) = 0', '3 renameat2(5, "a", AT_FDCWD, "/x/b", RENAME_NOREPLACE) = 0', `4 openat(AT_FDCWD, "${stray}", O_RDONLY|O_CLOEXEC) = 3`].join('\n');
  assert.equal(writesOf(log, l.cwd), [stray, path.join(l.cwd, 'rel'), '<fd 5>/a', '/x/b']);
  const before = snapshot(top);
  nodeFs.writeFileSync(stray, '');
  assert.equal(changedOutside(before, snapshot(top), []), ['stray']);
}));

trace.run();

// ---
const hostileTree = suite('confinement: a hostile stdlib tree and cache directory');

hostileTree('FIFOs, a link to /dev/zero, links to . and a package loop: the run ends, warns, ships one copy, writes only its outputs', inTop((top) => {
  const l = layout(top, { 'pkg/__init__.py': '', 'pkg/sub/__init__.py': '', 'pkg/sub/m.py': 'X = 1\n' });
  mkfifo(path.join(l.lib, 'fifo.py'));
  nodeFs.symlinkSync('/dev/zero', path.join(l.lib, 'zero.py'));
  nodeFs.symlinkSync('.', path.join(l.lib, 'pkg', 'a'));
  nodeFs.symlinkSync('.', path.join(l.lib, 'pkg', 'b'));
  nodeFs.symlinkSync('..', path.join(l.lib, 'pkg', 'sub', 'up'));
  // Every file of the cache directory a FIFO: reading one would block for ever.
  nodeFs.mkdirSync(l.cache);
  for (const name of ['pack-v2.bin', 'listing-v3.json', 'interpreter-v1.json']) mkfifo(path.join(l.cache, name));

  const run = confinedRun(l, [...base(l), '--package', 'false']);
  assert.is(run.status, 0, run.stderr);
  for (const line of [
    'warning SPECIAL_FILE_SKIPPED: fifo.py is a FIFO (named pipe), not a regular file (reading it would block or never end); not packed.',
    'warning SPECIAL_FILE_SKIPPED: zero.py -> /dev/zero is a character device, not a regular file (reading it would block or never end); not packed.',
    'warning SYMLINK_SKIPPED: pkg/a -> . leads back to pkg/, which contains the link: a loop; not followed.',
    'warning SYMLINK_SKIPPED: pkg/b -> . leads back to pkg/, which contains the link: a loop; not followed.',
    'warning SYMLINK_SKIPPED: pkg/sub/up -> .. leads back to pkg/, which contains the link: a loop; not followed.',
  ]) {
    assert.ok(run.stdout.includes(`  ${line}\n`), `missing ${JSON.stringify(line)} in:\n${run.stdout}`);
  }
  const zip = path.join(l.out, zipOf(l.out));
  const names = Object.keys(unzipSync(nodeFs.readFileSync(zip))).sort();
  assert.equal(names.filter((n) => n.startsWith('pkg/')), ['pkg/__init__.pyc', 'pkg/sub/__init__.pyc', 'pkg/sub/m.pyc']);
  assert.not.ok(names.includes('fifo.pyc') || names.includes('zero.pyc'), names.join(' '));
  // The run replaced the FIFOs with its cache files; a second run reuses them and gives the same bytes.
  const bytes = nodeFs.readFileSync(zip);
  const again = confinedRun(l, [...base(l), '--package', 'false']);
  assert.is(again.status, 0, again.stderr);
  assert.ok(nodeFs.readFileSync(zip).equals(bytes), 'the warm run wrote other bytes');
  assert.ok(again.stdout.includes('  warning SYMLINK_SKIPPED: pkg/a -> .'), `the warm run (listing reused) warns too:\n${again.stdout}`);
}));

hostileTree('--explain over a tree with a FIFO module: ends, warns, writes nothing at all', inTop((top) => {
  const l = layout(top);
  nodeFs.rmSync(path.join(l.lib, 'abc.py'));
  mkfifo(path.join(l.lib, 'abc.py'));
  const explain = confinedRun(l, [...base(l), '--explain']);
  assert.is(explain.status, 0, explain.stderr);
  assert.ok((explain.stdout + explain.stderr).includes('warning SPECIAL_FILE_SKIPPED: abc.py is a FIFO'), explain.stdout + explain.stderr);
  assert.equal(filesUnder(l.out), []);
}));

hostileTree.run();

// ---
const hostileOptions = suite('confinement: hostile options write nothing outside --out');

hostileOptions('--prefix with "..", for every target that writes under the prefix: refused, nothing written anywhere', inTop((top) => {
  const l = layout(top);
  for (const extra of [['--package', 'false'], ['--target', 'wasi'], ['--target', 'emscripten-node']]) {
    for (const prefix of ['/../../../../escaped', '/usr/../../../../../../escaped']) {
      const run = confinedRun(l, [...base(l), ...extra, '--prefix', prefix]);
      assert.is(run.status, 1, run.stderr);
      assert.ok(run.stderr.startsWith(`error ERR_OPTION: --prefix ${JSON.stringify(prefix)} has a ".." segment`), run.stderr);
      assert.equal(filesUnder(l.out), []);
    }
  }
}));

hostileOptions('a Makefile prefix= with ".." (--builddir): refused, nothing written anywhere', inTop((top) => {
  const l = layout(top);
  const builddir = path.join(top, 'build');
  writeTree(builddir, {
    Makefile: 'VERSION=3.11\nprefix=/../../../../escaped\n',
    'pybuilddir.txt': 'build/lib.x\n',
    'build/lib.x/_sysconfigdata__emscripten_wasm32-emscripten.py': "build_time_vars = {'MACHDEP': 'emscripten'}\n",
  });
  const run = confinedRun(l, [...base(l), '--builddir', builddir, '--target', 'emscripten-node']);
  assert.is(run.status, 1, run.stderr);
  assert.ok(run.stderr.startsWith(`error ERR_OPTION: prefix= in ${path.join(builddir, 'Makefile')} "/../../../../escaped" has a ".." segment`), run.stderr);
}));

hostileOptions("--out '' and --cache-dir '': refused, no ./dist in the working directory", inTop((top) => {
  const l = layout(top);
  for (const flag of ['--out', '--cache-dir']) {
    const argv = base(l);
    argv[argv.indexOf(flag) + 1] = '';
    const run = confinedRun(l, argv);
    assert.is(run.status, 1, run.stderr);
    assert.ok(run.stderr.startsWith(`error ERR_OPTION: ${flag} is an empty string;`), run.stderr);
  }
  assert.equal(nodeFs.readdirSync(l.cwd), []);
}));

hostileOptions('every option that names a path, on a run that succeeds: writes only below --out and the cache', inTop((top) => {
  const l = layout(top);
  const rules = path.join(top, 'rules.json');
  nodeFs.writeFileSync(rules, JSON.stringify({ rules: [{ id: 'mine', reason: 'a test', omit: ['abc.py'] }] }));
  const add = path.join(top, 'extra', 'mymod.py');
  writeTree(path.dirname(add), { 'mymod.py': 'Y = 2\n' });
  for (const extra of [
    ['--target', 'emscripten-node', '--prefix', '/', '--rules', rules, '--add', add],
    ['--target', 'wasi', '--prefix', '/opt/..py', '--omitted-hints'],
    ['--package', 'stdlib', '--sources', 'both', '--invalidation', 'timestamp'],
  ]) {
    const run = confinedRun(l, [...base(l), ...extra]);
    assert.is(run.status, 0, run.stderr);
    assert.ok(filesUnder(l.out).length >= 3, filesUnder(l.out).join(' '));
    nodeFs.rmSync(l.out, { recursive: true });
  }
}));

hostileOptions.run();
