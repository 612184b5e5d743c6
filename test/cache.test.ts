// Tests of src/cache.ts on memfs. Cost: under 200 ms.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memfs } from 'memfs';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { cacheKey, decodeEntry, encodeEntry, openCache, PACK_FILE, type CacheEntry, type CacheKeyParts, type OpenCacheOptions } from '../src/cache/compile-cache.js';
import type { PackFs } from '../src/types.js';

const DIR = '/cache';
const FILE = `${DIR}/${PACK_FILE}`;

function makeFs(): PackFs {
  return memfs({}, '/').fs as unknown as PackFs;
}

/** A cache entry as compile.ts makes it (deflate through node:zlib here), with its pyc. */
function entryOf(text: string, method: 'deflate' | 'stored' = 'deflate'): CacheEntry & { pyc: Uint8Array } {
  const pyc = new TextEncoder().encode(text);
  const compressed = method === 'stored' ? pyc : new Uint8Array(zlib.deflateRawSync(pyc, { level: 9 }));
  return { pyc, compressed, crc: zlib.crc32(pyc) >>> 0, method: method === 'stored' ? 0 : 8, size: pyc.length, imports: [{ module: 'os', level: 0 }] };
}

/** An entry of `n` incompressible bytes (so its size on disk is known). */
function bigEntry(seed: string, n: number): CacheEntry {
  const pyc = Buffer.alloc(n);
  for (let at = 0, i = 0; at < n; at += 32, i++) createHash('sha256').update(`${seed}${i}`).digest().copy(pyc, at);
  return { compressed: pyc, crc: zlib.crc32(pyc) >>> 0, method: 0, size: n, imports: [] };
}

const parts: CacheKeyParts = {
  sourceHash: 'a'.repeat(64),
  magic: 3495,
  version: '3.11.7',
  workerDigest: 'b'.repeat(64),
  optimize: 0,
  invalidation: 'unchecked-hash',
  imports: true,
  filename: '/usr/local/lib/python311.zip/json/decoder.py',
  compression: 'deflate',
  level: 9,
  compressor: 'node-zlib 1.3',
};
const KEY = cacheKey(parts);
const keyOf = (i: number | string) => cacheKey({ ...parts, filename: `/usr/local/lib/python311.zip/m${i}.py` });
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** The pack file's index: keys with their entries' places. */
function indexOf(fs: PackFs): Array<{ key: string; offset: number; length: number }> {
  const buf = fs.readFileSync(FILE) as Buffer;
  return Array.from({ length: buf.readUInt32LE(8) }, (_, i) => {
    const row = 16 + 40 * i;
    return { key: buf.toString('hex', row, row + 32), offset: buf.readUInt32LE(row + 32), length: buf.readUInt32LE(row + 36) };
  });
}

/** One run: opens the cache, gets `get`, puts `put` (entries by key), flushes. */
function runOnce(fs: PackFs, get: string[], put: Record<string, CacheEntry> = {}, options: Partial<OpenCacheOptions> = {}) {
  const cache = openCache({ dir: DIR, fs, ...options });
  const got = get.map((key) => cache.get(key));
  for (const [key, entry] of Object.entries(put)) cache.put(key, entry);
  cache.flush();
  return { cache, got };
}

/** memfs with hooks before some calls, and a log of the calls made. */
function spyFs(fs: PackFs, hooks: Record<string, (...args: any[]) => void> = {}) {
  const calls: string[] = [];
  const spied = new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function' || !/Sync$/.test(prop)) return value;
      return (...args: unknown[]) => {
        calls.push(prop);
        hooks[prop]?.(...args);
        return value.apply(target, args);
      };
    },
  });
  return { fs: spied, calls };
}

// ---

const key = suite('cacheKey');

key('is 64 hex digits and stable', () => {
  assert.match(KEY, /^[0-9a-f]{64}$/);
  assert.is(cacheKey({ ...parts }), KEY);
});

key('changes with everything that changes the bytes', () => {
  const changes: Partial<CacheKeyParts>[] = [
    { sourceHash: 'c'.repeat(64) },
    { magic: 3439 },
    { version: '3.11.8' },
    { workerDigest: 'd'.repeat(64) },
    { optimize: 1 },
    { invalidation: 'checked-hash' },
    { invalidation: 'timestamp', mtime: 0 },
    { imports: false },
    { filename: '/usr/local/lib/python311.zip/json/encoder.py' },
    { compression: 'stored' },
    { level: 6 },
    { compressor: 'node-zlib 1.3.1' },
  ];
  const keys = new Set([KEY, ...changes.map((c) => cacheKey({ ...parts, ...c }))]);
  assert.is(keys.size, changes.length + 1);
  // mtime only matters for timestamp pycs; level and compressor only for deflate.
  assert.is(cacheKey({ ...parts, mtime: 123 }), KEY);
  assert.is.not(cacheKey({ ...parts, invalidation: 'timestamp', mtime: 1 }), cacheKey({ ...parts, invalidation: 'timestamp', mtime: 2 }));
  const stored = { ...parts, compression: 'stored' };
  assert.is(cacheKey({ ...stored, level: 1, compressor: 'x' }), cacheKey({ ...stored, level: 9, compressor: 'y' }));
});

key.run();

// ---

const io = suite('openCache: get, put and flush');

io('misses on an empty cache, then a new run gets back what was put and flushed, in one file', () => {
  const fs = makeFs();
  const entry = entryOf('print("hello")\n'.repeat(50));
  const first = runOnce(fs, [KEY], { [KEY]: entry });
  assert.equal(first.got, [undefined]);
  assert.equal(first.cache.stats, { hits: 0, misses: 1, corrupt: 0, writes: 1, writeErrors: 0 });
  assert.equal(fs.readdirSync(DIR), [PACK_FILE], 'one file, no subdirectories, no temporary file');
  const cache = openCache({ dir: DIR, fs });
  const back = cache.get(KEY)!;
  assert.ok(back);
  assert.ok(same(back.compressed, entry.compressed));
  assert.is(back.pyc, undefined, 'no pyc unless asked for');
  assert.is(back.crc, entry.crc);
  assert.is(back.method, 8);
  assert.is(back.size, entry.pyc.length);
  assert.equal(back.imports, entry.imports);
  assert.is(cache.get(keyOf('other')), undefined, 'another key misses');
  assert.equal(cache.stats, { hits: 1, misses: 1, corrupt: 0, writes: 0, writeErrors: 0 });
});

io('stores no pyc for DEFLATE; get(key, { pyc: true }) inflates the exact pyc back', () => {
  const fs = makeFs();
  const entry = entryOf('import os\nvalue = 42\n'.repeat(200));
  runOnce(fs, [], { [KEY]: entry });
  assert.ok(fs.statSync(FILE).size < entry.pyc.length, 'the file is smaller than the pyc alone');
  const back = openCache({ dir: DIR, fs }).get(KEY, { pyc: true })!;
  assert.ok(same(back.pyc!, entry.pyc));
  assert.ok(same(back.compressed, entry.compressed));
});

io('stores a STORED entry once and hands the pyc back as its data', () => {
  const fs = makeFs();
  const entry = entryOf('x = 1\n', 'stored');
  runOnce(fs, [], { [KEY]: entry });
  const size = fs.statSync(FILE).size;
  assert.is(size, 16 + 40 + 32 + 92 + entry.pyc.length + JSON.stringify(entry.imports).length);
  const back = openCache({ dir: DIR, fs }).get(KEY, { pyc: true })!;
  assert.is(back.method, 0);
  assert.ok(same(back.compressed, entry.pyc));
  assert.ok(same(back.pyc!, entry.pyc));
});

io('returned bytes are copies, not views of the file buffer', () => {
  const fs = makeFs();
  runOnce(fs, [], { [KEY]: entryOf('a = 1\n'.repeat(30)) });
  const back = openCache({ dir: DIR, fs }).get(KEY)!;
  assert.is(back.compressed.byteOffset, 0);
  assert.is(back.compressed.buffer.byteLength, back.compressed.byteLength);
});

io('reads the file once, however many gets', () => {
  const fs = makeFs();
  runOnce(fs, [], Object.fromEntries([1, 2, 3].map((i) => [keyOf(i), entryOf(`v = ${i}\n`)])));
  const spy = spyFs(fs);
  const cache = openCache({ dir: DIR, fs: spy.fs });
  for (const i of [1, 2, 3, 4, 1]) cache.get(keyOf(i));
  // One open of the file (checked to be a regular file first: a FIFO would block the read).
  assert.equal(spy.calls.filter((c) => /^(readFileSync|openSync)$/.test(c)), ['openSync']);
  assert.equal([cache.stats.hits, cache.stats.misses], [4, 1]);
});

io('rejects keys that are not sha256 hex', () => {
  const cache = openCache({ dir: DIR, fs: makeFs() });
  assert.throws(() => cache.get('../../etc/passwd'), (error: unknown) => error instanceof TypeError);
});

io.run();

// ---

const flush = suite('openCache: flush');

flush('flush writes once, to a temporary file renamed into place', () => {
  const fs = makeFs();
  const spy = spyFs(fs);
  const cache = openCache({ dir: DIR, fs: spy.fs });
  for (const i of [1, 2, 3]) cache.put(keyOf(i), entryOf(`v = ${i}\n`));
  cache.flush();
  const writes = spy.calls.filter((c) => /^(writeFileSync|renameSync|mkdirSync)$/.test(c));
  assert.equal(writes, ['mkdirSync', 'writeFileSync', 'renameSync']);
  assert.equal(fs.readdirSync(DIR), [PACK_FILE]);
  assert.equal(cache.stats.writes, 1);
});

flush('a reader during a write sees the old file, complete; afterwards the new one', () => {
  const fs = makeFs();
  runOnce(fs, [], { [keyOf(1)]: entryOf('old = 1\n') });
  const seen: Array<string | undefined> = [];
  const spy = spyFs(fs, {
    renameSync: () => {
      // The new file is written under its temporary name; the old one is untouched.
      const reader = openCache({ dir: DIR, fs });
      seen.push(reader.get(keyOf(1)) ? 'old hit' : 'old miss', reader.get(keyOf(2)) ? 'new hit' : 'new miss', String(reader.stats.corrupt));
    },
  });
  runOnce(spy.fs, [keyOf(1)], { [keyOf(2)]: entryOf('new = 2\n') });
  assert.equal(seen, ['old hit', 'new miss', '0']);
  const after = openCache({ dir: DIR, fs });
  assert.ok(after.get(keyOf(1)) && after.get(keyOf(2)));
  assert.equal(after.stats.corrupt, 0);
  assert.equal(fs.readdirSync(DIR), [PACK_FILE]);
});

flush('writes nothing when every entry was a hit', () => {
  const fs = makeFs();
  const keys = [1, 2, 3].map(keyOf);
  // Put in another order than the gets: the file follows the order of first use.
  runOnce(fs, keys, Object.fromEntries([...keys].reverse().map((k, i) => [k, entryOf(`v = ${i}\n`)])));
  assert.equal(indexOf(fs).map((r) => r.key), keys);
  const before = fs.readFileSync(FILE);
  const spy = spyFs(fs);
  const { cache } = runOnce(spy.fs, keys);
  assert.equal([cache.stats.hits, cache.stats.writes], [3, 0]);
  assert.not.ok(spy.calls.includes('writeFileSync'));
  assert.ok(same(fs.readFileSync(FILE) as Buffer, before as Buffer));
});

flush('writes nothing when nothing was used, even with no file', () => {
  const fs = makeFs();
  openCache({ dir: DIR, fs }).flush();
  runOnce(fs, [keyOf(1)]);
  assert.not.ok(fs.existsSync(DIR));
});

flush('rewrites when a run used the entries in another order (most recent first)', () => {
  const fs = makeFs();
  const keys = [1, 2, 3].map(keyOf);
  runOnce(fs, [], Object.fromEntries(keys.map((k, i) => [k, entryOf(`v = ${i}\n`)])));
  const { cache } = runOnce(fs, [keys[2]]);
  assert.is(cache.stats.writes, 1);
  assert.equal(indexOf(fs).map((r) => r.key), [keys[2], keys[0], keys[1]]);
});

flush('keeps entries of other runs up to the cap, most recently used first, and drops the rest', () => {
  const fs = makeFs();
  const size = 1000;
  const blob = encodeEntry(keyOf('x'), bigEntry('x', size)).byteLength;
  const row = 40 + blob;
  const old = Array.from({ length: 6 }, (_, i) => keyOf(`old${i}`));
  runOnce(fs, [], Object.fromEntries(old.map((k) => [k, bigEntry(k, size)])));
  assert.is(indexOf(fs).length, 6);
  // Another configuration: 2 new entries; the cap leaves room for 3 of the old ones.
  const fresh = [keyOf('new0'), keyOf('new1')];
  const maxBytes = 48 + 5 * row;
  runOnce(fs, fresh, Object.fromEntries(fresh.map((k) => [k, bigEntry(k, size)])), { maxBytes });
  assert.equal(indexOf(fs).map((r) => r.key), [...fresh, ...old.slice(0, 3)]);
  assert.ok(fs.statSync(FILE).size <= maxBytes);
  // Both configurations hit what was kept.
  const back = openCache({ dir: DIR, fs });
  assert.equal([...fresh, ...old].map((k) => Boolean(back.get(k))), [true, true, true, true, true, false, false, false]);
});

flush('the cap is at least twice what the run used', () => {
  const fs = makeFs();
  const old = Array.from({ length: 6 }, (_, i) => keyOf(`old${i}`));
  runOnce(fs, [], Object.fromEntries(old.map((k) => [k, bigEntry(k, 1000)])));
  // Used: header + 2 entries = 48 + 2 rows; 2x that holds 2 more rows (and 48 bytes), not 3.
  runOnce(fs, [], { [keyOf('new0')]: bigEntry('n0', 1000), [keyOf('new1')]: bigEntry('n1', 1000) }, { maxBytes: 0 });
  assert.equal(indexOf(fs).map((r) => r.key), [keyOf('new0'), keyOf('new1'), old[0], old[1]]);
});

flush('a failing write (a file where the directory should be) is counted, not thrown', () => {
  const fs = makeFs();
  fs.writeFileSync(DIR, 'a file where the directory should be');
  const { cache } = runOnce(fs, [KEY], { [KEY]: entryOf('a') });
  assert.equal([cache.stats.writes, cache.stats.writeErrors], [0, 1]);
  assert.equal(fs.readdirSync('/'), ['cache']);
});

flush('a disk full during the write leaves the old file and no temporary file', () => {
  const fs = makeFs();
  runOnce(fs, [], { [keyOf(1)]: entryOf('old = 1\n') });
  const before = fs.readFileSync(FILE) as Buffer;
  const spy = spyFs(fs, {
    writeFileSync: (file: string) => {
      fs.writeFileSync(file, 'half a file'); // what a real ENOSPC may leave
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    },
  });
  const { cache } = runOnce(spy.fs, [keyOf(1)], { [keyOf(2)]: entryOf('new = 2\n') });
  assert.equal([cache.stats.writes, cache.stats.writeErrors], [0, 1]);
  assert.equal(fs.readdirSync(DIR), [PACK_FILE]);
  assert.ok(same(fs.readFileSync(FILE) as Buffer, before));
});

flush('a read-only directory is a counted write error', () => {
  const fs = makeFs();
  runOnce(fs, [], { [keyOf(1)]: entryOf('old = 1\n') });
  const spy = spyFs(fs, {
    writeFileSync: () => {
      throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
    },
  });
  const { cache, got } = runOnce(spy.fs, [keyOf(1), keyOf(2)], { [keyOf(2)]: entryOf('new = 2\n') });
  assert.ok(got[0], 'reads still hit');
  assert.equal(cache.stats.writeErrors, 1);
  assert.equal(fs.readdirSync(DIR), [PACK_FILE]);
});

flush('a disabled cache (--no-cache) never reads nor writes', () => {
  const fs = makeFs();
  runOnce(fs, [], { [KEY]: entryOf('a') });
  const spy = spyFs(fs);
  const cache = openCache({ dir: DIR, fs: spy.fs, enabled: false });
  cache.put(keyOf(2), entryOf('b'));
  assert.is(cache.get(KEY), undefined);
  cache.flush();
  assert.equal(spy.calls, []);
  assert.equal(cache.stats, { hits: 0, misses: 1, corrupt: 0, writes: 0, writeErrors: 0 });
  const other = makeFs();
  runOnce(other, [KEY], { [KEY]: entryOf('a') }, { enabled: false });
  assert.not.ok(other.existsSync(DIR));
});

flush.run();

// ---

const damage = suite('openCache: damage');

const THREE = [1, 2, 3].map(keyOf);

/** Writes three entries, lets `harm` change the file, then gets all three in a new run. */
function afterDamage(harm: (bytes: Buffer, index: ReturnType<typeof indexOf>) => Buffer) {
  const fs = makeFs();
  runOnce(fs, [], Object.fromEntries(THREE.map((k, i) => [k, entryOf(`value = ${i}\n`.repeat(20 + i))])));
  fs.writeFileSync(FILE, harm(Buffer.from(fs.readFileSync(FILE) as Buffer), indexOf(fs)));
  const cache = openCache({ dir: DIR, fs });
  const hits = THREE.map((k) => Boolean(cache.get(k, { pyc: true })));
  return { fs, cache, hits };
}

/** Recompiles the misses (puts them again), flushes, and checks a third run hits all three. */
function healed(fs: PackFs, hits: boolean[]) {
  const cache = openCache({ dir: DIR, fs });
  THREE.forEach((k, i) => {
    if (!cache.get(k)) cache.put(k, entryOf(`value = ${i}\n`.repeat(20 + i)));
  });
  cache.flush();
  const third = openCache({ dir: DIR, fs });
  assert.equal(THREE.map((k) => Boolean(third.get(k))), [true, true, true], 'rewritten whole');
  assert.is(third.stats.corrupt, 0);
  assert.is(cache.stats.writes, hits.every(Boolean) ? 0 : 1);
}

damage('an undamaged file hits (the harness can tell)', () => {
  const { fs, cache, hits } = afterDamage((b) => b);
  assert.equal(hits, [true, true, true]);
  assert.is(cache.stats.corrupt, 0);
  healed(fs, hits);
});

const entryCases: Array<[string, (b: Buffer, index: ReturnType<typeof indexOf>) => Buffer]> = [
  ['a flipped bit in its compressed data', (b, [, e]) => ((b[e.offset + 92] ^= 1), b)],
  ['a flipped bit in its imports', (b, [, e]) => ((b[e.offset + e.length - 3] ^= 0x10), b)],
  ['a wrong CRC in its header', (b, [, e]) => ((b[e.offset + 40] ^= 0xff), b)],
  ['a wrong method in its header', (b, [, e]) => ((b[e.offset + 44] = 0), b)],
  ['another key\'s bytes in its place', (b, [, e]) => (Buffer.from(encodeEntry(keyOf(9), entryOf('value = 1\n'.repeat(21)))).copy(b, e.offset, 0, e.length), b)],
];

for (const [name, harm] of entryCases) {
  damage(`${name}: that entry is a miss, counted as corrupt; the others hit`, () => {
    const { fs, cache, hits } = afterDamage(harm);
    assert.equal(hits, [true, false, true]);
    assert.equal([cache.stats.corrupt, cache.stats.hits, cache.stats.misses], [1, 2, 1]);
    healed(fs, hits);
  });
}

damage('a DEFLATE stream that does not inflate to its CRC-32 is a miss when the pyc is wanted', () => {
  const fs = makeFs();
  const entry = entryOf('x = 1\n'.repeat(40));
  // A well-formed, checksummed entry whose CRC-32 is not the pyc's (a compressor bug, say).
  runOnce(fs, [], { [KEY]: { ...entry, crc: (entry.crc ^ 1) >>> 0 } });
  const cache = openCache({ dir: DIR, fs });
  assert.is(cache.get(KEY, { pyc: true }), undefined);
  assert.is(cache.stats.corrupt, 1);
  // And a wrong length.
  const fs2 = makeFs();
  runOnce(fs2, [], { [KEY]: { ...entry, size: entry.size + 1 } });
  assert.is(openCache({ dir: DIR, fs: fs2 }).get(KEY, { pyc: true }), undefined);
});

damage('a truncated file: the entries cut off are misses (corrupt), the ones before still hit', () => {
  const { fs, cache, hits } = afterDamage((b, index) => b.subarray(0, index[2].offset + 10));
  assert.equal(hits, [true, true, false]);
  assert.is(cache.stats.corrupt, 1);
  healed(fs, hits);
});

const fileCases: Array<[string, (b: Buffer) => Buffer]> = [
  ['a file truncated inside its index', (b) => b.subarray(0, 16 + 40 + 5)],
  ['a file truncated inside its header', (b) => b.subarray(0, 10)],
  ['an empty file', () => Buffer.alloc(0)],
  ['a garbage file', () => Buffer.from('not a cache file at all, just some text that is long enough to parse'.repeat(4))],
  ['a flipped bit in the index', (b) => ((b[16 + 40 + 33] ^= 1), b)],
  ['an entry count too large for the file', (b) => (b.writeUInt32LE(1000, 8), b)],
];

for (const [name, harm] of fileCases) {
  damage(`${name}: the whole file misses, counted as corrupt once, and the next flush rewrites it`, () => {
    const { fs, cache, hits } = afterDamage(harm);
    assert.equal(hits, [false, false, false]);
    assert.equal([cache.stats.corrupt, cache.stats.misses], [1, 3]);
    healed(fs, hits);
  });
}

damage('a file of another format version is ignored (not corrupt) and replaced on flush', () => {
  const { fs, cache, hits } = afterDamage((b) => (b.writeUInt32LE(3, 4), b));
  assert.equal(hits, [false, false, false]);
  assert.is(cache.stats.corrupt, 0);
  healed(fs, hits);
});

damage('a damaged entry is not written back, even when nothing replaces it', () => {
  const { fs } = afterDamage((b, [, e]) => ((b[e.offset + 100] ^= 1), b));
  // A run that sees the damage but puts nothing back still drops the entry.
  const cache = openCache({ dir: DIR, fs });
  THREE.forEach((k) => cache.get(k));
  cache.flush();
  assert.equal(indexOf(fs).map((r) => r.key), [THREE[0], THREE[2]]);
});

damage('decodeEntry checks the key it is asked for', () => {
  const bytes = encodeEntry(KEY, entryOf('x'));
  assert.ok(decodeEntry(KEY, bytes));
  assert.is(decodeEntry(cacheKey({ ...parts, level: 1 }), bytes), undefined);
  assert.is(decodeEntry(KEY, bytes.subarray(0, bytes.length - 1)), undefined);
});

damage.run();
