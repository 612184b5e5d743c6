import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isInside, writeFileBestEffort, writeFilesAtomic } from '../src/output/write.js';
import type { PackFs } from '../src/types.js';
import { listFiles, makeFs, throwsPackError } from './helpers.js';

const OUT = '/py/out';

/** `fs` with one method that throws `code` on its `nth` call (1-based) and works otherwise. */
function failingOn(fs: PackFs, method: 'writeFileSync' | 'renameSync', nth: number, code = 'ENOSPC'): PackFs {
  let calls = 0;
  return new Proxy(fs, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      if (key !== method) return value.bind(target);
      return (...args: unknown[]) => {
        if (++calls === nth) throw Object.assign(new Error(`${code}: injected failure, ${method} '${args[0]}'`), { code, path: String(args[0]) });
        return value.apply(target, args);
      };
    },
  });
}

// ---
const write = suite('writeFilesAtomic');

write('writes every file, creating the directories, from strings and bytes', () => {
  const fs = makeFs({});
  writeFilesAtomic(fs, [
    { path: `${OUT}/usr/local/lib/python311.zip`, data: new Uint8Array([80, 75, 5, 6]) },
    { path: `${OUT}/usr/local/lib/python3.11/os.py`, data: '# os\n' },
    { path: `${OUT}/usr/local/lib/python3.11/lib-dynload/.empty`, data: '' },
  ]);
  assert.equal(listFiles(fs, OUT), ['usr/local/lib/python3.11/lib-dynload/.empty', 'usr/local/lib/python3.11/os.py', 'usr/local/lib/python311.zip']);
  assert.equal([...fs.readFileSync(`${OUT}/usr/local/lib/python311.zip`)], [80, 75, 5, 6]);
  assert.is(fs.readFileSync(`${OUT}/usr/local/lib/python3.11/os.py`, 'utf8'), '# os\n');
});

write('replaces existing files and leaves no temporary file behind', () => {
  const fs = makeFs({ [`${OUT}/a.txt`]: 'old', [`${OUT}/keep.txt`]: 'untouched' });
  writeFilesAtomic(fs, [{ path: `${OUT}/a.txt`, data: 'new' }]);
  assert.equal(listFiles(fs, OUT), ['a.txt', 'keep.txt']);
  assert.is(fs.readFileSync(`${OUT}/a.txt`, 'utf8'), 'new');
});

write('does nothing for an empty list', () => {
  const fs = makeFs({ [`${OUT}/x`]: '1' });
  writeFilesAtomic(fs, []);
  assert.equal(listFiles(fs, OUT), ['x']);
});

write('leaves no output and no temporary file when the second write fails, and reports ERR_WRITE', () => {
  const memory = makeFs({ [`${OUT}/before.txt`]: 'before' });
  const fs = failingOn(memory, 'writeFileSync', 2);
  const error = throwsPackError(
    () => writeFilesAtomic(fs, [{ path: `${OUT}/a/one.txt`, data: '1' }, { path: `${OUT}/b/two.txt`, data: '2' }, { path: `${OUT}/three.txt`, data: '3' }]),
    'ERR_WRITE',
    `${OUT}/b/two.txt`,
    'ENOSPC',
  );
  assert.ok(error.hint);
  assert.is((error.cause as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.equal(listFiles(memory, OUT), ['before.txt']);
});

write('keeps the previous version of every file when a write fails', () => {
  const memory = makeFs({ [`${OUT}/one.txt`]: 'old one', [`${OUT}/two.txt`]: 'old two' });
  const fs = failingOn(memory, 'writeFileSync', 2);
  throwsPackError(() => writeFilesAtomic(fs, [{ path: `${OUT}/one.txt`, data: 'new one' }, { path: `${OUT}/two.txt`, data: 'new two' }]), 'ERR_WRITE');
  assert.equal(listFiles(memory, OUT), ['one.txt', 'two.txt']);
  assert.equal([memory.readFileSync(`${OUT}/one.txt`, 'utf8'), memory.readFileSync(`${OUT}/two.txt`, 'utf8')], ['old one', 'old two']);
});

write('leaves no output and no temporary file when the second rename fails (e.g. EISDIR)', () => {
  const memory = makeFs({});
  const fs = failingOn(memory, 'renameSync', 2, 'EISDIR');
  throwsPackError(() => writeFilesAtomic(fs, [{ path: `${OUT}/one.txt`, data: '1' }, { path: `${OUT}/two.txt`, data: '2' }]), 'ERR_WRITE', 'EISDIR');
  assert.equal(listFiles(memory, OUT), [], 'outputs must appear complete or not at all');
});

write('refuses a directory where an output goes, naming it and what goes there; writes nothing and moves nothing', () => {
  const fs = makeFs({ [`${OUT}/lib/python311.zip/mine.txt`]: 'mine' });
  throwsPackError(
    () => writeFilesAtomic(fs, [{ path: `${OUT}/a.txt`, data: 'a' }, { path: `${OUT}/lib/python311.zip`, data: 'zip', kind: 'zip' }]),
    'ERR_WRITE',
    `${OUT}/lib/python311.zip is a directory, where the zip goes; nothing was written.`,
  );
  assert.equal(listFiles(fs, OUT), ['lib/python311.zip/mine.txt']);
});

write("removes the temporaries a killed run left beside these outputs (its pid is gone), not a live run's, nor other files", () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const fs = makeFs({
    [`${OUT}/a.txt.tmp-${dead}-k2j4x1`]: 'new, never placed',
    [`${OUT}/a.txt.tmp-${dead}-k2j4x1.old`]: 'old, moved aside',
    [`${OUT}/a.txt.tmp-${process.ppid}-zz9zz9`]: 'a concurrent run is writing it',
    [`${OUT}/b.txt.tmp-${dead}-k2j4x1`]: 'not an output of this run',
    [`${OUT}/mine.tmp-${dead}-abc`]: 'the user\'s',
  });
  writeFilesAtomic(fs, [{ path: `${OUT}/a.txt`, data: 'a' }]);
  assert.equal(listFiles(fs, OUT), ['a.txt', `a.txt.tmp-${process.ppid}-zz9zz9`, `b.txt.tmp-${dead}-k2j4x1`, `mine.tmp-${dead}-abc`]);
});

write.run();

const bestEffort = suite('writeFileBestEffort');

bestEffort('writes the file (and its directory) through a temporary sibling', () => {
  const fs = makeFs();
  assert.ok(writeFileBestEffort(fs, '/py/cache/hint.json', '{}'));
  assert.equal(listFiles(fs, '/py/cache'), ['hint.json']);
  assert.ok(writeFileBestEffort(fs, '/py/cache/hint.json', '{"a":1}'));
  assert.is(String(fs.readFileSync('/py/cache/hint.json', 'utf8')), '{"a":1}');
});

bestEffort('a failed write or rename answers false, never throws, leaves the old file and no temporary one', () => {
  for (const method of ['writeFileSync', 'renameSync'] as const) {
    const base = makeFs({ 'cache/hint.json': 'old' });
    assert.not.ok(writeFileBestEffort(failingOn(base, method, 1), '/py/cache/hint.json', 'new'), method);
    assert.equal(listFiles(base, '/py/cache'), ['hint.json'], method);
    assert.is(String(base.readFileSync('/py/cache/hint.json', 'utf8')), 'old', method);
  }
  const fs = makeFs({ cache: 'a file where the directory should be' });
  assert.not.ok(writeFileBestEffort(fs, '/py/cache/hint.json', 'x'));
});

bestEffort.run();

// ---
const inside = suite('isInside');

const INSIDE: [string, string, boolean][] = [
  ['/a/b', '/a/b', true],
  ['/a/b/', '/a/b', true],
  ['/a/b/c', '/a/b', true],
  ['/a/b/c/d.py', '/a/b', true],
  ['/a/b/../b/c', '/a/b', true],
  ['/a/bc', '/a/b', false],
  ['/a', '/a/b', false],
  ['/x/b', '/a/b', false],
  ['/a/b/../c', '/a/b', false],
  ['/', '/a', false],
  ['/a/b/..c', '/a/b', true],
  ['/a/b/...', '/a/b', true],
];

for (const [child, parent, expected] of INSIDE) {
  inside(`says ${child} is ${expected ? '' : 'not '}inside ${parent}`, () => {
    assert.is(isInside(child, parent), expected);
  });
}

inside.run();
