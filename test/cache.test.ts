// Tests of src/cache.ts on memfs. Cost: under 100 ms.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memfs } from 'memfs';
import zlib from 'node:zlib';
import { cacheKey, decodeEntry, encodeEntry, openCache, type CacheEntry, type CacheKeyParts } from '../src/cache.js';
import type { PackFs } from '../src/types.js';

const DIR = '/cache';

function makeFs(): PackFs {
  return memfs({}, '/').fs as unknown as PackFs;
}

/** A cache entry as compile.ts makes it (deflate through node:zlib here). */
function entryOf(text: string, method: 'deflate' | 'stored' = 'deflate'): CacheEntry {
  const pyc = new TextEncoder().encode(text);
  const compressed = method === 'stored' ? pyc : new Uint8Array(zlib.deflateRawSync(pyc, { level: 9 }));
  return { pyc, compressed, crc: zlib.crc32(pyc) >>> 0, method: method === 'stored' ? 0 : 8, imports: [{ module: 'os', level: 0 }] };
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
const fileOf = (key: string) => `${DIR}/${key.slice(0, 2)}/${key}`;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

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

const io = suite('openCache: get and put');

io('misses on an empty cache, then returns what was put', async () => {
  const fs = makeFs();
  const cache = openCache({ dir: DIR, fs });
  assert.is(await cache.get(KEY), undefined);
  const entry = entryOf('print("hello")\n'.repeat(50));
  await cache.put(KEY, entry);
  const back = await cache.get(KEY);
  assert.ok(back);
  assert.ok(same(back!.pyc, entry.pyc));
  assert.ok(same(back!.compressed, entry.compressed));
  assert.ok(same(zlib.inflateRawSync(back!.compressed), entry.pyc));
  assert.is(back!.crc, entry.crc);
  assert.is(back!.method, 8);
  assert.equal(back!.imports, entry.imports);
  assert.equal(cache.stats, { hits: 1, misses: 1, corrupt: 0, writes: 1, writeErrors: 0 });
});

io('stores a STORED entry once and hands the pyc back as its data', async () => {
  const fs = makeFs();
  const cache = openCache({ dir: DIR, fs });
  const entry = entryOf('x = 1\n', 'stored');
  await cache.put(KEY, entry);
  const size = fs.statSync(fileOf(KEY)).size;
  assert.is(size, 92 + entry.pyc.length + JSON.stringify(entry.imports).length);
  const back = (await cache.get(KEY))!;
  assert.is(back.method, 0);
  assert.ok(same(back.compressed, entry.pyc));
});

io('writes atomically: no temporary file is left behind', async () => {
  const fs = makeFs();
  const cache = openCache({ dir: DIR, fs });
  await Promise.all([cache.put(KEY, entryOf('a')), cache.put(KEY, entryOf('a'))]);
  assert.equal(fs.readdirSync(`${DIR}/${KEY.slice(0, 2)}`), [KEY]);
});

io('a disabled cache never reads nor writes', async () => {
  const fs = makeFs();
  const cache = openCache({ dir: DIR, fs, enabled: false });
  await cache.put(KEY, entryOf('a'));
  assert.is(await cache.get(KEY), undefined);
  assert.not.ok(fs.existsSync(DIR));
});

io('a failing write is counted, not thrown', async () => {
  const fs = makeFs();
  fs.writeFileSync('/cache', 'a file where the directory should be');
  const cache = openCache({ dir: DIR, fs });
  await cache.put(KEY, entryOf('a'));
  assert.is(cache.stats.writeErrors, 1);
  assert.is(await cache.get(KEY), undefined);
});

io('rejects keys that are not sha256 hex', async () => {
  const cache = openCache({ dir: DIR, fs: makeFs() });
  try {
    await cache.get('../../etc/passwd');
    assert.unreachable('expected a TypeError');
  } catch (error) {
    assert.instance(error, TypeError);
  }
});

io.run();

// ---

const damage = suite('openCache: damaged entries');

/** Puts an entry, lets `harm` change the file, and returns what get() says. */
async function afterDamage(harm: (bytes: Buffer, fs: PackFs) => Buffer | undefined) {
  const fs = makeFs();
  const cache = openCache({ dir: DIR, fs });
  await cache.put(KEY, entryOf('value = 42\n'.repeat(20)));
  const bytes = fs.readFileSync(fileOf(KEY)) as Buffer;
  const harmed = harm(Buffer.from(bytes), fs);
  if (harmed) fs.writeFileSync(fileOf(KEY), harmed);
  const got = await cache.get(KEY);
  return { got, cache, fs };
}

const cases: Array<[string, (b: Buffer, fs: PackFs) => Buffer | undefined]> = [
  ['truncated payload', (b) => b.subarray(0, b.length - 1)],
  ['truncated header', (b) => b.subarray(0, 50)],
  ['empty file', () => Buffer.alloc(0)],
  ['a flipped bit in the pyc', (b) => ((b[92] ^= 1), b)],
  ['a flipped bit in the compressed data', (b) => ((b[b.length - 30] ^= 0x10), b)],
  ['a wrong CRC in the header', (b) => ((b[40] ^= 0xff), b)],
  ['a wrong method in the header', (b) => ((b[44] = 0), b)],
  ['an extra byte at the end', (b) => Buffer.concat([b, Buffer.from([0])])],
  ['another key\'s entry under this name', () => {
    const other = cacheKey({ ...parts, optimize: 2 });
    const encoded = encodeEntry(other, entryOf('value = 42\n'.repeat(20)));
    return Buffer.from(encoded);
  }],
];

for (const [name, harm] of cases) {
  damage(`${name} is a miss, counted as corrupt and deleted`, async () => {
    const { got, cache, fs } = await afterDamage(harm);
    assert.is(got, undefined);
    assert.is(cache.stats.corrupt, 1);
    assert.not.ok(fs.existsSync(fileOf(KEY)));
  });
}

damage('an undamaged entry decodes (the harness can tell)', async () => {
  const { got, cache } = await afterDamage(() => undefined);
  assert.ok(got);
  assert.is(cache.stats.corrupt, 0);
});

damage('decodeEntry checks the key it is asked for', () => {
  const bytes = encodeEntry(KEY, entryOf('x'));
  assert.ok(decodeEntry(KEY, bytes));
  assert.is(decodeEntry(cacheKey({ ...parts, level: 1 }), bytes), undefined);
});

damage.run();
