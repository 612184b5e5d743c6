// Tests of the result memo (src/cache/result-memo.ts): a warm pack reuses the last result
// only while every file that run read reads the same, and then gives exactly what a run
// without it gives. The recorder on an in-memory tree; whole packs of a small copy of the
// machine's stdlib with the real python3. Cost: ~5 s.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack, type PackOptions, type PackResult } from '../src/index.js';
import { RACY_MS } from '../src/cache/interpreter-identity.js';
import { observe, ReadRecorder, RESULTS_DIR } from '../src/cache/result-memo.js';
import { readRegularFile } from '../src/read-file.js';
import { havePython, makeFs, skip, smallStdlib } from './helpers.js';

const recorder = suite('ReadRecorder');

recorder('records each read as it can be made again: contents, kinds, entries; the cache aside', () => {
  const fs = makeFs({ '/lib/a.py': 'A = 1\n', '/lib/b.py': 'B = 2\n', '/lib/pkg/__init__.py': '', '/cache/x': 'cached' });
  const r = new ReadRecorder(fs, ['/cache']);
  assert.is(String(r.fs.readFileSync('/lib/a.py', 'utf8')), 'A = 1\n');
  assert.is(readRegularFile(r.fs, '/lib/b.py').toString(), 'B = 2\n', 'open, read, close');
  assert.ok(r.fs.statSync('/lib/pkg').isDirectory());
  assert.is(r.fs.existsSync('/lib/none.py'), false);
  r.fs.readdirSync('/lib');
  r.fs.readFileSync('/cache/x');
  r.fs.writeFileSync('/cache/y', 'written');
  assert.ok(r.complete);
  const reads = [...r.reads].map(([k, v]) => [k.replace('\0', ' '), v]);
  assert.equal(reads.map(([k]) => k).sort(), ['dir /lib', 'exists /lib/none.py', 'read /lib/a.py', 'read /lib/b.py', 'stat /lib/pkg']);
  for (const [key, seen] of r.reads) {
    const [op, file] = key.split('\0');
    assert.is(observe(fs, op, file), seen, `${op} ${file} observed again`);
  }
  fs.writeFileSync('/lib/a.py', 'A = 2\n');
  assert.is.not(observe(fs, 'read', '/lib/a.py'), r.reads.get('read\0/lib/a.py'), 'new contents');
  fs.writeFileSync('/lib/c.py', '');
  assert.is.not(observe(fs, 'dir', '/lib'), r.reads.get('dir\0/lib'), 'a new entry');
});

recorder('a read it cannot make again leaves the recording incomplete', () => {
  const fs = makeFs({ '/lib/a.py': 'A = 1\n' });
  const positional = new ReadRecorder(fs, []);
  const fd = positional.fs.openSync('/lib/a.py', 'r');
  positional.fs.readSync(fd, Buffer.alloc(3), 0, 3, 2);
  positional.fs.closeSync(fd);
  assert.not.ok(positional.complete, 'a read at a position');
  const unknown = new ReadRecorder(fs, []);
  unknown.fs.readvSync(unknown.fs.openSync('/lib/a.py', 'r'), [Buffer.alloc(2)]);
  assert.not.ok(unknown.complete, 'a method it does not know');
  const buffer = new ReadRecorder(fs, []);
  buffer.fs.readFileSync(Buffer.from('/lib/a.py'));
  assert.not.ok(buffer.complete, 'a path that is not a string');
  const promises = new ReadRecorder(fs, []);
  void promises.fs.promises;
  assert.not.ok(promises.complete, 'fs.promises (its reads go round the recorder)');
});

recorder('the cache is not an input, except a stdlib that lives in it (a Pyodide\'s, extracted there)', () => {
  const fs = makeFs({ '/cache/pack.bin': 'x', '/cache/pyodide-stdlib/abc/os.py': 'import sys\n' });
  const r = new ReadRecorder(fs, ['/cache'], ['/cache/pyodide-stdlib/abc']);
  r.fs.readFileSync('/cache/pack.bin');
  r.fs.readFileSync('/cache/pyodide-stdlib/abc/os.py');
  assert.equal([...r.reads.keys()], ['read\0/cache/pyodide-stdlib/abc/os.py']);
});

recorder.run();

const packs = suite('pack: a reused result is the result');

const bytes = (r: PackResult) => Object.fromEntries(r.outputs.map((o) => [o.path.slice(o.path.indexOf('/out-') + 1).replace(/^out-[^/]+\//, ''), fs.readFileSync(o.path).toString('hex')]));
// The result as --json prints it (a reused one comes from JSON: no keys set to undefined).
const json = (x: unknown) => JSON.parse(JSON.stringify(x));
const same = (a: PackResult, b: PackResult) => {
  assert.equal(bytes(a), bytes(b));
  for (const k of ['kept', 'omitted', 'decisions', 'warnings'] as const) assert.equal(json(a[k]), json(b[k]), k);
  assert.is(a.stats.modules, b.stats.modules);
};

packs('reused while every read is the same; each kind of change makes it again, as a fresh cache would', async () => {
  if (!havePython()) return skip('python3 is not available');
  const { top, lib } = smallStdlib();
  fs.symlinkSync('.', path.join(lib, 'loop')); // the walk warns of it on every run: given once, not twice
  const cacheDir = path.join(top, 'cache');
  let n = 0;
  const run = (extra: Partial<PackOptions> = {}, cache = cacheDir) => pack({ lib, cacheDir: cache, cwd: top, out: path.join(top, `out-${n++}`), ...extra });
  const fresh = (extra: Partial<PackOptions> = {}) => run(extra, path.join(top, `fresh-${n}`));

  const cold = await run();
  assert.is(cold.stats.reused, undefined);
  assert.equal(cold.warnings.map((w) => w.code), ['SYMLINK_SKIPPED']);
  const warm = await run();
  assert.is(warm.stats.reused, true, 'the same inputs: reused');
  assert.is(warm.stats.timings.compile, undefined, 'nothing compiled');
  same(warm, cold);
  assert.ok(warm.outputs.every((o) => o.path.startsWith(path.join(top, `out-${n - 1}`))), 'placed in this run\'s --out');

  // The same size and mtime, other contents (as cp -a or tar would leave it): its contents tell.
  const stat = path.join(lib, 'stat.py');
  const { atime, mtime } = fs.statSync(stat);
  const text = fs.readFileSync(stat, 'utf8');
  fs.writeFileSync(stat, text.replace('S_IFDIR', 'S_IFDIX'));
  fs.utimesSync(stat, atime, mtime);
  const edited = await run();
  assert.is(edited.stats.reused, undefined, 'a changed source');
  same(edited, await fresh());
  assert.is((await run()).stats.reused, true, 'then reused again');

  fs.writeFileSync(path.join(lib, 'added.py'), 'X = 1\n');
  const added = await run();
  assert.is(added.stats.reused, undefined, 'a new module');
  same(added, await fresh());

  const stored = await run({ compression: 'stored' });
  assert.is(stored.stats.reused, undefined, 'another option');
  same(stored, await fresh({ compression: 'stored' }));

  const rules = path.join(top, 'my-rules.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: [{ id: 'no-added', reason: 'not wanted', omit: ['added.py'] }] }));
  const ruled = await run({ rules: [rules] });
  assert.is(ruled.stats.reused, undefined, 'a rule file');
  assert.ok(ruled.omitted.some((o) => o.path === 'added.py'));
  assert.is((await run({ rules: [rules] })).stats.reused, true);
  fs.writeFileSync(rules, JSON.stringify({ rules: [{ id: 'no-added', reason: 'not wanted', omit: ['stat.py'] }] }));
  const reruled = await run({ rules: [rules] });
  assert.is(reruled.stats.reused, undefined, 'the rule file edited');
  same(reruled, await fresh({ rules: [rules] }));

  // A damaged result is a miss, and the run makes the right outputs.
  const dir = path.join(cacheDir, RESULTS_DIR);
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.bin'))) {
    const file = path.join(dir, name);
    const data = fs.readFileSync(file);
    data[data.length >> 1] ^= 1;
    fs.writeFileSync(file, data);
  }
  const damaged = await run({ rules: [rules] });
  assert.is(damaged.stats.reused, undefined, 'a flipped bit in the stored outputs');
  same(damaged, reruled);
  assert.ok(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).length <= 4, 'at most four results kept');
  const names = () => fs.readdirSync(dir);
  assert.equal(names().filter((f) => f.endsWith('.bin')).map((f) => f.replace('.bin', '.json')).sort(), names().filter((f) => f.endsWith('.json')).sort(), 'a blob for each result, no other');

  // What a killed run left: a blob nothing names, a temporary file of a dead process.
  fs.writeFileSync(path.join(dir, `${'0'.repeat(64)}.bin`), 'orphan');
  const dead = path.join(dir, `${'1'.repeat(64)}.json.4194304.0badcafe.tmp`);
  fs.writeFileSync(dead, '{');
  fs.writeFileSync(path.join(lib, 'another.py'), 'Y = 2\n');
  assert.is((await run({ rules: [rules] })).stats.reused, undefined);
  assert.not.ok(fs.existsSync(path.join(dir, `${'0'.repeat(64)}.bin`)), 'the orphan blob is gone');
  assert.not.ok(fs.existsSync(dead), 'the dead run\'s temporary file is gone');

  // --no-cache neither reads nor files one.
  const before = fs.readdirSync(dir).sort();
  const uncached = await run({ cache: false });
  assert.is(uncached.stats.reused, undefined);
  assert.equal(fs.readdirSync(dir).sort(), before);
  fs.rmSync(top, { recursive: true, force: true });
});

packs('stamps of files older than the run spare the hashing, and a rewrite under an old mtime still shows (ctime)', async () => {
  if (!havePython()) return skip('python3 is not available');
  const { top, lib } = smallStdlib();
  await new Promise((resolve) => setTimeout(resolve, RACY_MS + 100)); // younger files are hashed, never stamped
  const cacheDir = path.join(top, 'cache');
  let n = 0;
  const run = (cache = cacheDir) => pack({ lib, cacheDir: cache, cwd: top, out: path.join(top, `out-${n++}`) });
  const cold = await run();
  const dir = path.join(cacheDir, RESULTS_DIR);
  const [entry] = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  const stamps: [string, string][] = JSON.parse(fs.readFileSync(path.join(dir, entry), 'utf8')).stamps;
  assert.ok(stamps.some(([file]) => file === path.join(lib, 'stat.py')), 'the sources were stamped');
  const warm = await run();
  assert.is(warm.stats.reused, true);
  same(warm, cold);
  const stat = path.join(lib, 'stat.py');
  const { atime, mtime, size } = fs.statSync(stat);
  fs.writeFileSync(stat, fs.readFileSync(stat, 'utf8').replace('S_IFDIR', 'S_IFDIX'));
  fs.utimesSync(stat, atime, mtime);
  assert.is(fs.statSync(stat).size, size);
  const edited = await run();
  assert.is(edited.stats.reused, undefined, 'same size, same mtime, other contents');
  same(edited, await run(path.join(top, 'fresh')));
  fs.rmSync(top, { recursive: true, force: true });
});

packs('--strict fails a reused run with the same warnings as the run that made it', async () => {
  if (!havePython()) return skip('python3 is not available');
  const { top, lib } = smallStdlib();
  fs.writeFileSync(path.join(lib, 'broken.py'), 'def broken(:\n');
  const cacheDir = path.join(top, 'cache');
  const first = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'a'), allowSyntaxErrors: true });
  assert.ok(first.warnings.length > 0, 'a module that does not compile is a warning');
  const second = await pack({ lib, cacheDir, cwd: top, out: path.join(top, 'b'), allowSyntaxErrors: true });
  assert.is(second.stats.reused, true);
  assert.equal(json(second.warnings), json(first.warnings));
  for (const out of ['c', 'd']) {
    try {
      await pack({ lib, cacheDir, cwd: top, out: path.join(top, out), allowSyntaxErrors: true, strict: true });
      assert.unreachable('--strict with warnings');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_STRICT');
    }
  }
  fs.rmSync(top, { recursive: true, force: true });
});

packs.run();
