import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareCodePoints, compareTreeOrder, discover } from '../src/pipeline/discover.js';
import type { PackFs } from '../src/types.js';
import { havePython, makeFs, makeTmp, REPO, rejectsPackError, rmTmp, runPython, skip, writeTree } from './helpers.js';

const LIB = '/py/Lib';

// ---
const walk = suite('discover');

walk('returns every file as a sorted POSIX path relative to the root', async () => {
  const fs = makeFs({ 'Lib/os.py': '', 'Lib/json/decoder.py': '', 'Lib/json/__init__.py': '', 'Lib/abc.py': '', 'Lib/A.py': '', 'Lib/_x.py': '' });
  const got = await discover(LIB, fs);
  assert.is(got.root, LIB);
  assert.equal(got.files, ['A.py', '_x.py', 'abc.py', 'json/__init__.py', 'json/decoder.py', 'os.py']);
});

walk('keeps data files and dot files, and walks deep directories', async () => {
  const fs = makeFs({ 'Lib/os.py': '', 'Lib/.hidden': '', 'Lib/a/b/c/d/e.txt': 'x', 'Lib/site-packages/README.txt': '' });
  assert.equal((await discover(LIB, fs)).files, ['.hidden', 'a/b/c/d/e.txt', 'os.py', 'site-packages/README.txt']);
});

walk('skips __pycache__ directories at every depth', async () => {
  const fs = makeFs({
    'Lib/os.py': '',
    'Lib/__pycache__/os.cpython-311.pyc': '',
    'Lib/json/__init__.py': '',
    'Lib/json/__pycache__/__init__.cpython-311.pyc': '',
    'Lib/json/__pycache__/deep/x.pyc': '',
  });
  assert.equal((await discover(LIB, fs)).files, ['json/__init__.py', 'os.py']);
});

walk('lists as packages the directories holding __init__.py (not the root, not plain directories)', async () => {
  const fs = makeFs({
    'Lib/__init__.py': '',
    'Lib/os.py': '',
    'Lib/json/__init__.py': '',
    'Lib/xml/__init__.py': '',
    'Lib/xml/dom/__init__.py': '',
    'Lib/xml/dom/minidom.py': '',
    'Lib/lib2to3/tests/data/bom.py': '',
    'Lib/site-packages/x.py': '',
  });
  assert.equal([...(await discover(LIB, fs)).packages].sort(), ['json', 'xml', 'xml/dom']);
});

walk('follows symbolic links to files and directories', async () => {
  const fs = makeFs({ 'Lib/os.py': '', 'elsewhere/pkg/__init__.py': '', 'elsewhere/one.py': '' });
  fs.symlinkSync('/py/elsewhere/pkg', '/py/Lib/pkg');
  fs.symlinkSync('/py/elsewhere/one.py', '/py/Lib/one.py');
  const got = await discover(LIB, fs);
  assert.equal(got.files, ['one.py', 'os.py', 'pkg/__init__.py']);
  assert.equal([...got.packages], ['pkg']);
});

walk('works on the real disk with the default fs', async () => {
  const dir = makeTmp();
  try {
    writeTree(dir, { 'os.py': '', 'json/__init__.py': '', 'json/__pycache__/__init__.cpython-311.pyc': '' });
    assert.equal((await discover(dir)).files, ['json/__init__.py', 'os.py']);
  } finally {
    rmTmp(dir);
  }
});

walk.run();

// ---
const bad = suite('discover: bad input');

bad('fails with ERR_LIB_NOT_FOUND when the directory is missing (fast-glob alone would return [])', async () => {
  const error = await rejectsPackError(() => discover('/py/NoLib', makeFs({ 'Lib/os.py': '' })), 'ERR_LIB_NOT_FOUND', '/py/NoLib');
  assert.ok(error.hint);
  assert.is((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
});

bad('fails with ERR_LIB_NOT_FOUND when the path is a file', async () => {
  await rejectsPackError(() => discover('/py/Lib/os.py', makeFs({ 'Lib/os.py': '' })), 'ERR_LIB_NOT_FOUND', '/py/Lib/os.py is not a directory');
});

bad('fails with ERR_LIB_EMPTY on an empty directory', async () => {
  const fs = makeFs({});
  fs.mkdirSync(LIB, { recursive: true });
  await rejectsPackError(() => discover(LIB, fs), 'ERR_LIB_EMPTY', LIB);
});

bad('fails with ERR_LIB_EMPTY when only __pycache__ and empty directories are there', async () => {
  const fs = makeFs({ 'Lib/__pycache__/os.cpython-311.pyc': '' });
  fs.mkdirSync('/py/Lib/empty/deeper', { recursive: true });
  await rejectsPackError(() => discover(LIB, fs), 'ERR_LIB_EMPTY');
});

bad('fails with ERR_FILE_UNREADABLE naming the directory it cannot read', async () => {
  const memory = makeFs({ 'Lib/os.py': '', 'Lib/secret/x.py': '' });
  const denied = (p: unknown): boolean => String(p).replace(/\/$/, '') === '/py/Lib/secret';
  const eacces = (p: unknown) => Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES', path: String(p) });
  const fs = new Proxy(memory, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (key === 'readdir') {
        return (p: unknown, ...rest: unknown[]) => {
          const cb = rest.pop() as (e: unknown) => void;
          if (denied(p)) return void process.nextTick(cb, eacces(p));
          return (value as (...a: unknown[]) => void).call(target, p, ...rest, cb);
        };
      }
      if (key === 'readdirSync') {
        return (p: unknown, ...rest: unknown[]) => {
          if (denied(p)) throw eacces(p);
          return (value as (...a: unknown[]) => unknown).call(target, p, ...rest);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as PackFs;
  const error = await rejectsPackError(() => discover(LIB, fs), 'ERR_FILE_UNREADABLE', '/py/Lib/secret', 'EACCES');
  assert.ok(error.cause);
});

bad.run();

// ---
const codePoints = suite('compareCodePoints');

codePoints('orders upper case before "_" before lower case, like Python sorted()', () => {
  assert.equal(['a.py', '_x.py', 'A.py', 'a', 'B'].sort(compareCodePoints), ['A.py', 'B', '_x.py', 'a', 'a.py']);
  assert.is(compareCodePoints('x', 'x'), 0);
});

codePoints('orders characters outside the BMP after U+FFFF characters, by code point', () => {
  // U+1D518 (UTF-16 D835 DD18) sorts after U+FB00 by code point, before it by UTF-16 unit.
  assert.equal(['\u{1D518}.py', '\uFB00.py'].sort(compareCodePoints), ['\uFB00.py', '\u{1D518}.py']);
});

codePoints.run();

// ---
const order = suite('compareTreeOrder');

order('puts a package __init__.py first, then files and sub-packages by name', () => {
  const paths = ['pkg/z.py', 'pkg/sub/__init__.py', 'pkg/_a.py', 'pkg/__init__.py', 'pkg/sub.py', 'pkg/__main__.py', 'pkg/A.py'];
  assert.equal(paths.sort(compareTreeOrder), [
    'pkg/__init__.py',
    'pkg/A.py',
    'pkg/__main__.py',
    'pkg/_a.py',
    'pkg/sub/__init__.py',
    'pkg/sub.py',
    'pkg/z.py',
  ]);
});

order('sorts a top-level __init__.py like any other file', () => {
  assert.equal(['b.py', '__init__.py', 'A.py'].sort(compareTreeOrder), ['A.py', '__init__.py', 'b.py']);
});

/** Runs the reference's loop (wasm_assets.py 3.11 create_stdlib_zip) with PyZipFile.writepy over `dir`; returns the .py names in zip order. */
function writepyOrder(dir: string): string[] {
  const script = `
import io, pathlib, sys, zipfile
lib = pathlib.Path(sys.argv[1])
with zipfile.PyZipFile(io.BytesIO(), mode='w', optimize=0) as pzf:
    for entry in sorted(lib.iterdir()):
        if entry.name == '__pycache__':
            continue
        if entry.name.endswith('.py') or entry.is_dir():
            pzf.writepy(entry)
    names = pzf.namelist()
print('\\n'.join(n[:-1] if n.endswith('.pyc') else n for n in names))
`;
  return runPython(script, [dir]).split('\n').filter(Boolean);
}

/** What writepy would take: .py files whose every directory is a package, in compareTreeOrder. */
async function ourOrder(dir: string): Promise<string[]> {
  const { files, packages } = await discover(dir);
  const isModule = (f: string): boolean => {
    const parts = f.split('/');
    return f.endsWith('.py') && parts.slice(1).every((_, i) => packages.has(parts.slice(0, i + 1).join('/')));
  };
  return files.filter(isModule).sort(compareTreeOrder);
}

const TREE = {
  'a.py': '',
  'a/__init__.py': '',
  'a/b.py': '',
  'A.py': '',
  '_x.py': '',
  'z.py': '',
  'pkg/__init__.py': '',
  'pkg/_a.py': '',
  'pkg/__main__.py': '',
  'pkg/A.py': '',
  'pkg/sub/__init__.py': '',
  'pkg/sub/m.py': '',
  'pkg/sub.py': '',
  'pkg/sub_b/__init__.py': '',
  'pkg/z.py': '',
  'pkg/data.txt': 'not a module',
  'pkg/notpkg/x.py': '',
};

order('reproduces zipfile.PyZipFile.writepy order on a real tree (python3 is the ground truth)', async () => {
  if (!havePython()) return skip('no python3 for the ground truth');
  const dir = makeTmp();
  try {
    writeTree(dir, TREE);
    const expected = writepyOrder(dir);
    assert.ok(expected.length >= 13, expected.join(' '));
    assert.equal(await ourOrder(dir), expected);
  } finally {
    rmTmp(dir);
  }
});

order('reproduces writepy order for non-ASCII names, including ones outside the BMP (python3)', async () => {
  if (!havePython()) return skip('no python3 for the ground truth');
  const dir = makeTmp();
  try {
    writeTree(dir, { 'pkg/__init__.py': '', 'pkg/\u00e9.py': '', 'pkg/\uFB00.py': '', 'pkg/\u{1D518}.py': '', 'pkg/z.py': '' });
    assert.equal(await ourOrder(dir), writepyOrder(dir));
  } finally {
    rmTmp(dir);
  }
});

order.run();

// Keep an eye on the real stdlib too: the same order on python3's own json/ and email/ packages.
const real = suite('compareTreeOrder: real packages');

real('matches writepy on python3 stdlib packages json/ and email/', async () => {
  if (!havePython()) return skip('no python3 for the ground truth');
  const stdlib = runPython('import sysconfig; print(sysconfig.get_paths()["stdlib"])').trim();
  const dir = makeTmp();
  try {
    for (const name of ['json', 'email']) {
      nodeFs.cpSync(path.join(stdlib, name), path.join(dir, name), { recursive: true, filter: (p) => !p.includes('__pycache__') });
    }
    assert.equal(await ourOrder(dir), writepyOrder(dir));
  } finally {
    rmTmp(dir);
  }
});

real.run();

// ---
// What the walk follows (issue 13): real FIFOs, devices and symbolic links on the real disk.
// A walk that follows a loop never ends (or is exponential), and reading a FIFO blocks, so each
// walk runs in a child process under a timeout: a regression fails the test instead of hanging it.
const follows = suite('discover: what the walk follows');

const WALK_TIMEOUT_MS = 30_000;

/** discover(root) in a child process, killed after WALK_TIMEOUT_MS; its result as plain data. */
function walkIsolated(root: string, prune: string[] = []): { files: string[]; dirs: string[]; pruned: string[]; skipped: { path: string; code: string; message: string }[] } {
  const script = `
    const { discover } = await import(${JSON.stringify(path.join(REPO, 'src/pipeline/discover.ts'))});
    const r = await discover(${JSON.stringify(root)}, undefined, { prune: ${JSON.stringify(prune)} });
    process.stdout.write(JSON.stringify({ files: r.files, dirs: r.dirs, pruned: r.pruned, skipped: r.skipped }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: WALK_TIMEOUT_MS, maxBuffer: 64 << 20 });
  assert.ok(!run.error, `the walk did not finish within ${WALK_TIMEOUT_MS / 1000} s (${run.error?.message}); it follows a loop or reads a FIFO`);
  assert.is(run.status, 0, `the walk failed: ${run.stderr.slice(0, 2000)}`);
  return JSON.parse(run.stdout);
}

/** A real temporary tree; `fn` gets its root (Lib) and the directory above it. */
function inTree(files: Record<string, string>, fn: (lib: string, top: string) => void): () => void {
  return () => {
    const top = nodeFs.realpathSync(makeTmp());
    try {
      const lib = path.join(top, 'Lib');
      writeTree(lib, files);
      fn(lib, top);
    } finally {
      rmTmp(top);
    }
  };
}

const codes = (r: ReturnType<typeof walkIsolated>) => r.skipped.map((s) => [s.path, s.code]);

follows('a FIFO is not listed (reading it would block): SPECIAL_FILE_SKIPPED names it', inTree({ 'os.py': '', 'pkg/__init__.py': '' }, (lib) => {
  const made = spawnSync('mkfifo', [path.join(lib, 'pkg', 'fifo.py')]);
  if (made.error || made.status !== 0) return skip('no mkfifo here');
  const r = walkIsolated(lib);
  assert.equal(r.files, ['os.py', 'pkg/__init__.py']);
  assert.equal(codes(r), [['pkg/fifo.py', 'SPECIAL_FILE_SKIPPED']]);
  assert.is(r.skipped[0].message, 'pkg/fifo.py is a FIFO (named pipe), not a regular file (reading it would block or never end); not packed.');
}));

follows('a .py that links to /dev/zero (a read that never ends) is not listed', inTree({ 'os.py': '' }, (lib) => {
  nodeFs.symlinkSync('/dev/zero', path.join(lib, 'zero.py'));
  const r = walkIsolated(lib);
  assert.equal(r.files, ['os.py']);
  assert.equal(codes(r), [['zero.py', 'SPECIAL_FILE_SKIPPED']]);
  assert.is(r.skipped[0].message, 'zero.py -> /dev/zero is a character device, not a regular file (reading it would block or never end); not packed.');
}));

follows('two links to . inside a package: neither is followed (the walk would be exponential)', inTree({ 'os.py': '', 'pkg/__init__.py': '', 'pkg/m.py': '' }, (lib) => {
  nodeFs.symlinkSync('.', path.join(lib, 'pkg', 'a'));
  nodeFs.symlinkSync('.', path.join(lib, 'pkg', 'b'));
  const r = walkIsolated(lib);
  assert.equal(r.files, ['os.py', 'pkg/__init__.py', 'pkg/m.py']);
  assert.equal(r.dirs, ['', 'pkg']);
  assert.equal(codes(r), [['pkg/a', 'SYMLINK_SKIPPED'], ['pkg/b', 'SYMLINK_SKIPPED']]);
  assert.is(r.skipped[0].message, 'pkg/a -> . leads back to pkg/, which contains the link: a loop; not followed.');
}));

follows('a package link to its parent is a loop: one copy of the package, not 41 nested ones', inTree({ 'os.py': '', 'pkg/__init__.py': '', 'pkg/sub/__init__.py': '' }, (lib) => {
  nodeFs.symlinkSync('..', path.join(lib, 'pkg', 'sub', 'up'));
  nodeFs.symlinkSync('.', path.join(lib, 'self'));
  const r = walkIsolated(lib);
  assert.equal(r.files, ['os.py', 'pkg/__init__.py', 'pkg/sub/__init__.py']);
  assert.equal(codes(r), [['pkg/sub/up', 'SYMLINK_SKIPPED'], ['self', 'SYMLINK_SKIPPED']]);
  assert.is(r.skipped[0].message, 'pkg/sub/up -> .. leads back to pkg/, which contains the link: a loop; not followed.');
  assert.is(r.skipped[1].message, 'self -> . leads back to the stdlib root: a loop; not followed.');
}));

follows('a link to another directory of the stdlib is not followed: it is packed under its own name', inTree({ 'os.py': '', 'json/__init__.py': '', 'pkg/__init__.py': '' }, (lib) => {
  nodeFs.symlinkSync('../json', path.join(lib, 'pkg', 'json'));
  const r = walkIsolated(lib);
  assert.equal(r.files, ['json/__init__.py', 'os.py', 'pkg/__init__.py']);
  assert.equal(codes(r), [['pkg/json', 'SYMLINK_SKIPPED']]);
  assert.is(r.skipped[0].message, 'pkg/json -> ../json leads to json/, a directory of this stdlib, which is packed under its own name; not followed.');
}));

follows('a link to a directory that contains the stdlib is a loop', inTree({ 'os.py': '' }, (lib, top) => {
  nodeFs.symlinkSync(top, path.join(lib, 'up'));
  const r = walkIsolated(lib);
  assert.equal(r.files, ['os.py']);
  assert.equal(codes(r), [['up', 'SYMLINK_SKIPPED']]);
  assert.is(r.skipped[0].message, `up -> ${top} leads to ${top}, which contains the stdlib: a loop; not followed.`);
}));

follows('a directory outside the stdlib is walked once, through the first link in code-point order', inTree({ 'os.py': '' }, (lib, top) => {
  writeTree(path.join(top, 'shared'), { '__init__.py': '', 'x.py': '' });
  nodeFs.symlinkSync(path.join(top, 'shared'), path.join(lib, 'b'));
  nodeFs.symlinkSync(path.join(top, 'shared'), path.join(lib, 'a'));
  nodeFs.symlinkSync(path.join(top, 'shared', '..'), path.join(top, 'shared', 'loop')); // inside it, a loop of its own
  nodeFs.symlinkSync(path.join(top, 'shared', 'x.py'), path.join(lib, 'y.py')); // a link to a file is followed
  const r = walkIsolated(lib);
  assert.equal(r.files, ['a/__init__.py', 'a/x.py', 'os.py', 'y.py']);
  assert.equal(codes(r), [['a/loop', 'SYMLINK_SKIPPED'], ['b', 'SYMLINK_SKIPPED']]);
  assert.is(r.skipped[1].message, `b -> ${path.join(top, 'shared')} leads to ${path.join(top, 'shared')}, already walked as a/; each directory is packed once; not followed.`);
}));

follows('a pruned directory is not walked even when it is a loop, and is not reported', inTree({ 'os.py': '' }, (lib) => {
  nodeFs.symlinkSync('.', path.join(lib, 'site-packages'));
  const r = walkIsolated(lib, ['site-packages/']);
  assert.equal(r.pruned, ['site-packages/']);
  assert.equal(r.skipped, []);
}));

follows.run();
