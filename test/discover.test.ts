import nodeFs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareCodePoints, compareTreeOrder, discover } from '../src/pipeline/discover.js';
import type { PackFs } from '../src/types.js';
import { havePython, makeFs, makeTmp, rejectsPackError, rmTmp, runPython, skip, writeTree } from './helpers.js';

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
