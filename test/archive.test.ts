import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildZip, compressEntry, dosDateTime, type ArchiveEntry } from '../src/output/zip.js';
import { REPO, havePython, makeTmp, rmTmp, runPython, skip } from './helpers.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytesOf = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 3)) & 0xff);

const FILES: [string, Uint8Array][] = [
  ['zeta.py', text('Z = 26\n')],
  ['pkg/__init__.py', text('')],
  ['alpha.py', text('A = 1\n' + 'x = 1\n'.repeat(200))],
  ['pkg/data.bin', bytesOf(3000)],
  ['données/é.txt', text('non-ASCII name')],
];

const entriesOf = (files: [string, Uint8Array][], compression: 'stored' | 'deflate', level = 9): ArchiveEntry[] =>
  files.map(([name, data]) => ({ name, entry: compressEntry(data, compression, level) }));

interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  dosTime: number;
  dosDate: number;
  madeBy: number;
  externalAttrs: number;
  flags: number;
}

/** Reads the central directory by hand: the entry order and header fields unzipSync does not expose. */
function centralDirectory(zip: Uint8Array): CentralEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'no end of central directory record');
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const out: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.is(view.getUint32(at, true), 0x02014b50, 'central directory signature');
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    out.push({
      madeBy: view.getUint16(at + 4, true),
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      dosTime: view.getUint16(at + 12, true),
      dosDate: view.getUint16(at + 14, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      externalAttrs: view.getUint32(at + 38, true),
      name: new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)),
    });
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

/** DOS date/time fields → [year, month, day, hour, minute, second], as zipfile's ZipInfo.date_time. */
const dosFields = (e: CentralEntry): number[] => [
  (e.dosDate >> 9) + 1980,
  (e.dosDate >> 5) & 15,
  e.dosDate & 31,
  e.dosTime >> 11,
  (e.dosTime >> 5) & 63,
  (e.dosTime & 31) * 2,
];

// ---
const compress = suite('compressEntry');

compress('stores the bytes as they are with method 0, their CRC-32 and size', () => {
  const data = text('hello');
  const e = compressEntry(data, 'stored', 9);
  assert.equal({ ...e, data: [...e.data] }, { data: [...data], crc: 0x3610a686, method: 0, size: 5 });
});

compress('deflates with method 8 into a raw stream that inflates back, at every level', () => {
  const data = FILES[2][1];
  for (let level = 0; level <= 9; level++) {
    const e = compressEntry(data, 'deflate', level);
    assert.is(e.method, 8);
    assert.is(e.size, data.length);
    assert.is(e.crc, zlib.crc32(data) >>> 0);
    assert.equal(new Uint8Array(zlib.inflateRawSync(e.data)), data, `level ${level}`);
  }
  assert.ok(compressEntry(data, 'deflate', 9).data.length < data.length / 4, 'level 9 compresses repetitive text');
});

compress('handles empty data', () => {
  const e = compressEntry(new Uint8Array(0), 'deflate', 9);
  assert.equal([e.crc, e.size, zlib.inflateRawSync(e.data).length], [0, 0, 0]);
});

compress('returns an unsigned CRC-32 for data whose CRC has the top bit set', () => {
  const data = text('a');
  assert.is(compressEntry(data, 'stored', 0).crc, 0xe8b7be43);
});

compress.run();

// ---
const date = suite('dosDateTime');

date('clamps times before 1980 to the DOS epoch', () => {
  for (const t of [0, -1, 315532799]) assert.equal(dosDateTime(t), dosDateTime(315532800));
  assert.equal(dosDateTime(315532800), { time: 0, date: (1 << 5) | 1 });
});

date('packs the UTC fields of the epoch (2-second resolution)', () => {
  const { time, date: d } = dosDateTime(1700000000); // 2023-11-14T22:13:20Z
  assert.equal([(d >> 9) + 1980, (d >> 5) & 15, d & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2], [2023, 11, 14, 22, 13, 20]);
});

date.run();

// ---
const zip = suite('buildZip');

for (const compression of ['stored', 'deflate'] as const) {
  zip(`writes ${compression} entries that unzipSync reads back byte for byte`, async () => {
    const out = await buildZip(entriesOf(FILES, compression), 315532800);
    const files = unzipSync(out);
    assert.equal(Object.keys(files).sort(), FILES.map(([n]) => n).sort());
    for (const [name, data] of FILES) assert.equal(files[name], data, name);
  });
}

zip('keeps the entries in the order given, with the method, CRC and sizes of each', async () => {
  const entries = entriesOf(FILES, 'deflate');
  entries[1] = { name: entries[1].name, entry: compressEntry(FILES[1][1], 'stored', 0) };
  const cd = centralDirectory(await buildZip(entries, 315532800));
  assert.equal(cd.map((e) => e.name), FILES.map(([n]) => n));
  assert.equal(
    cd.map((e) => [e.method, e.crc, e.size, e.compressedSize]),
    entries.map(({ entry }) => [entry.method, entry.crc, entry.size, entry.data.length]),
  );
});

zip('writes regular-file Unix attributes (0o100644, made by Unix) and the fixed time', async () => {
  const cd = centralDirectory(await buildZip(entriesOf(FILES, 'stored'), 1700000000));
  for (const e of cd) {
    assert.is(e.externalAttrs >>> 16, 0o100644, e.name);
    assert.is(e.madeBy >> 8, 3, e.name);
    assert.equal(dosFields(e), [2023, 11, 14, 22, 13, 20]);
  }
});

zip('marks a non-ASCII name as UTF-8 (general purpose flag bit 11)', async () => {
  const cd = centralDirectory(await buildZip(entriesOf(FILES, 'stored'), 315532800));
  const named = cd.find((e) => e.name === 'données/é.txt');
  assert.ok(named && named.flags & 0x800);
});

zip('writes a valid empty zip for no entries', async () => {
  const out = await buildZip([], 315532800);
  assert.is(out.length, 22);
  assert.equal(unzipSync(out), {});
});

zip('gives the same bytes on every call', async () => {
  assert.equal(await buildZip(entriesOf(FILES, 'deflate'), 1700000000), await buildZip(entriesOf(FILES, 'deflate'), 1700000000));
});

zip.run();

// ---
const tz = suite('buildZip: reproducible in every time zone');

/** Builds the same zip in a child node with TZ set; returns the hex bytes per epoch. */
async function zipInTimeZone(timeZone: string, epochs: number[]): Promise<string[]> {
  const script = `
import { buildZip, compressEntry } from ${JSON.stringify(path.join(REPO, 'src/output/zip.ts'))};
const data = new TextEncoder().encode('X = 1\\n');
const entries = [{ name: 'x.py', entry: compressEntry(data, 'deflate', 9) }, { name: 'y.py', entry: compressEntry(data, 'stored', 0) }];
const epochs = ${JSON.stringify(epochs)};
console.log(JSON.stringify(await Promise.all(epochs.map(async (t) => Buffer.from(await buildZip(entries, t)).toString('hex')))));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TZ: timeZone },
    cwd: REPO,
  });
  return JSON.parse(stdout);
}

// 1980-01-01 (the default), 2023-11-14T22:13:20Z, and 2021-03-14T02:30:00Z: a local time that does not
// exist in New York (clocks jump from 02:00 to 03:00 that night).
const EPOCHS = [315532800, 1700000000, 1615689000];
const zones = Promise.all(['UTC', 'Asia/Tokyo', 'America/New_York'].map((z) => zipInTimeZone(z, EPOCHS)));
zones.catch(() => {}); // the tests await it and report a failure; do not crash the run before

tz('writes the same bytes with TZ=UTC and TZ=Asia/Tokyo', async () => {
  const [utc, tokyo] = await zones;
  assert.equal(tokyo, utc);
});

tz('writes the same bytes with TZ=America/New_York, also for a time in its DST gap', async () => {
  const [utc, , newYork] = await zones;
  assert.is(newYork[0], utc[0], '1980-01-01');
  assert.is(newYork[1], utc[1], '2023-11-14');
  assert.is(newYork[2], utc[2], '2021-03-14T02:30:00Z, in New York\'s DST gap');
});

tz('writes the epoch\'s UTC fields as the DOS time', async () => {
  const [utc] = await zones;
  const fields = utc.map((hex) => dosFields(centralDirectory(new Uint8Array(Buffer.from(hex, 'hex')))[0]));
  assert.equal(fields, [
    [1980, 1, 1, 0, 0, 0],
    [2023, 11, 14, 22, 13, 20],
    [2021, 3, 14, 2, 30, 0],
  ]);
});

tz.run();

// ---
const python = suite('buildZip: read by CPython (python3)');

python('zipfile reads every entry (testzip() is None) with the names, times and bytes written', async () => {
  if (!havePython()) return skip('no python3');
  const dir = makeTmp();
  try {
    const entries = entriesOf(FILES, 'deflate');
    entries[0] = { name: FILES[0][0], entry: compressEntry(FILES[0][1], 'stored', 0) };
    const file = path.join(dir, 'out.zip');
    nodeFs.writeFileSync(file, await buildZip(entries, 1700000000));
    const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps({
        'testzip': z.testzip(),
        'names': z.namelist(),
        'methods': [i.compress_type for i in z.infolist()],
        'times': [list(i.date_time) for i in z.infolist()],
        'sha256': [hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()],
    }))
`;
    const got = JSON.parse(runPython(script, [file]));
    const sha = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
    assert.equal(got, {
      testzip: null,
      names: FILES.map(([n]) => n),
      methods: [0, 8, 8, 8, 8],
      times: FILES.map(() => [2023, 11, 14, 22, 13, 20]),
      sha256: FILES.map(([, d]) => sha(d)),
    });
  } finally {
    rmTmp(dir);
  }
});

python('zipimport imports source modules, a package and a hash-based pyc from it', async () => {
  if (!havePython()) return skip('no python3');
  const dir = makeTmp();
  try {
    // A pyc from the same interpreter (unchecked-hash, like pack's default).
    const pyc = path.join(dir, 'compiled.pyc');
    runPython(
      'import py_compile, sys; open(sys.argv[1] + ".py", "w").write("Y = \'from pyc\'\\n"); py_compile.compile(sys.argv[1] + ".py", cfile=sys.argv[2], invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True)',
      [path.join(dir, 'src'), pyc],
    );
    const files: [string, Uint8Array][] = [
      ['hello.py', text('VALUE = 42\n')],
      ['pkg/__init__.py', text('from .mod import X\n')],
      ['pkg/mod.py', text("X = 'pkg.mod'\n")],
      ['compiled.pyc', new Uint8Array(nodeFs.readFileSync(pyc))],
    ];
    const entries = files.map(([name, data], i) => ({ name, entry: compressEntry(data, i % 2 ? 'stored' : 'deflate', 9) }));
    const file = path.join(dir, 'lib.zip');
    nodeFs.writeFileSync(file, await buildZip(entries, 315532800));
    const out = runPython(
      'import sys; sys.path.insert(0, sys.argv[1]); import hello, pkg, compiled; print(hello.VALUE, pkg.X, compiled.Y, type(hello.__loader__).__name__, sep="|")',
      [file],
    );
    assert.is(out.trim(), '42|pkg.mod|from pyc|zipimporter');
  } finally {
    rmTmp(dir);
  }
});

python.run();
