// Tests of src/cache/listing.ts: the stored discovery is reused only while every directory of
// the tree holds what it held (names and kinds, read again), on real directories. The last suite packs a small
// copy of the machine's stdlib twice with the real python3, adding a module in between.
// Cost: ~0.1 s for the listing suites, ~3 s for the pack one.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { discover, type DiscoverResult } from '../src/pipeline/discover.js';
import { LISTING_FILE, discoverCached, loadListing } from '../src/cache/listing.js';
import { pack } from '../src/index.js';
import { havePython, skip } from './helpers.js';

const HOUR_AGO = (Date.now() - 3600_000) / 1000;

/** A small tree, every directory dated an hour back (so a listing of it is not "racy"). */
function makeTree(): { root: string; cacheDir: string; age: () => void } {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-listing-'));
  const root = path.join(top, 'Lib');
  const files: Record<string, string> = {
    'os.py': '', 'json/__init__.py': '', 'json/decoder.py': '', 'site-packages/README.txt': '', 'empty/.keep': '',
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  const age = () => {
    for (const dir of ['', 'json', 'site-packages', 'empty']) fs.utimesSync(path.join(root, dir), HOUR_AGO, HOUR_AGO);
  };
  age();
  return { root, cacheDir: path.join(top, 'cache'), age };
}

/** discoverCached with a counting walk. */
async function run(root: string, cacheDir: string | undefined, prune = ['site-packages/']): Promise<{ result: DiscoverResult; walked: boolean }> {
  let walked = false;
  const result = await discoverCached(fs, cacheDir, root, prune, () => {
    walked = true;
    return discover(root, fs, { prune });
  });
  return { result, walked };
}

const listing = suite('discoverCached');

listing('walks once, then answers from the stored listing while nothing changed', async () => {
  const { root, cacheDir } = makeTree();
  const first = await run(root, cacheDir);
  assert.ok(first.walked);
  assert.ok(fs.existsSync(path.join(cacheDir, LISTING_FILE)));
  const second = await run(root, cacheDir);
  assert.not.ok(second.walked);
  assert.equal(second.result, first.result);
  assert.equal(second.result.files, ['empty/.keep', 'json/__init__.py', 'json/decoder.py', 'os.py']);
  assert.equal(second.result.pruned, ['site-packages/']);
  assert.equal([...second.result.packages], ['json']);
});

listing('a file added to, removed from or renamed in any directory means walking again', async () => {
  const { root, cacheDir, age } = makeTree();
  await run(root, cacheDir);
  fs.writeFileSync(path.join(root, 'json/scanner.py'), '');
  const added = await run(root, cacheDir);
  assert.ok(added.walked);
  assert.ok(added.result.files.includes('json/scanner.py'));
  age();
  await run(root, cacheDir); // stored again, with the new mtimes
  fs.rmSync(path.join(root, 'empty/.keep'));
  const removed = await run(root, cacheDir);
  assert.ok(removed.walked);
  assert.not.ok(removed.result.files.includes('empty/.keep'));
  age();
  await run(root, cacheDir);
  fs.renameSync(path.join(root, 'json/decoder.py'), path.join(root, 'json/decoder2.py'));
  const renamed = await run(root, cacheDir);
  assert.ok(renamed.walked);
  assert.ok(renamed.result.files.includes('json/decoder2.py'));
});

listing('a change whose directory mtime was put back (tar, rsync -a, cp -a) still means walking again', async () => {
  const { root, cacheDir, age } = makeTree();
  await run(root, cacheDir);
  fs.writeFileSync(path.join(root, 'json/scanner.py'), '');
  age(); // the directory looks as old as before
  const added = await run(root, cacheDir);
  assert.ok(added.walked);
  assert.ok(added.result.files.includes('json/scanner.py'));
  fs.rmSync(path.join(root, 'json/scanner.py'));
  fs.mkdirSync(path.join(root, 'json/tool'));
  fs.writeFileSync(path.join(root, 'json/tool/__init__.py'), '');
  age();
  const changed = await run(root, cacheDir);
  assert.ok(changed.walked);
  assert.equal(changed.result.files, ['empty/.keep', 'json/__init__.py', 'json/decoder.py', 'json/tool/__init__.py', 'os.py']);
  // A file turned into a directory of the same name, mtimes put back.
  fs.rmSync(path.join(root, 'os.py'));
  fs.mkdirSync(path.join(root, 'os.py'));
  age();
  assert.ok((await run(root, cacheDir)).walked);
});

listing('a tree that changes while it is walked leaves no listing: the next run walks again', async () => {
  const { root, cacheDir } = makeTree();
  let walks = 0;
  const changing = () => discoverCached(fs, cacheDir, root, ['site-packages/'], async () => {
    walks++;
    const result = await discover(root, fs, { prune: ['site-packages/'] });
    fs.writeFileSync(path.join(root, `json/late${walks}.py`), ''); // after the walk, before the listing is kept
    return result;
  });
  await changing();
  assert.not.ok(fs.existsSync(path.join(cacheDir, LISTING_FILE)), 'the walk did not see json/late1.py: nothing to keep');
  const next = await run(root, cacheDir);
  assert.ok(next.walked);
  assert.ok(next.result.files.includes('json/late1.py'));
});

listing('another root, other prune globs, a damaged or foreign file: walk', async () => {
  const { root, cacheDir } = makeTree();
  await run(root, cacheDir);
  assert.ok((await run(root, cacheDir, [])).walked, 'other prune globs');
  await run(root, cacheDir);
  assert.not.ok((await run(root, cacheDir)).walked);
  fs.writeFileSync(path.join(cacheDir, LISTING_FILE), '{"format": "pywasm-assets listing 2", "root": ');
  assert.is(loadListing(fs, cacheDir, root, ['site-packages/']), undefined);
  assert.ok((await run(root, cacheDir)).walked, 'damaged file');
  assert.not.ok((await run(root, cacheDir)).walked, 'rewritten after the damaged one');
  fs.writeFileSync(path.join(cacheDir, LISTING_FILE), JSON.stringify({ format: 'something else' }));
  assert.ok((await run(root, cacheDir)).walked, 'foreign file');
  const other = makeTree();
  fs.copyFileSync(path.join(cacheDir, LISTING_FILE), path.join(other.cacheDir, '..', 'x.json'));
  assert.is(loadListing(fs, cacheDir, other.root, ['site-packages/']), undefined, 'another root');
});

listing('no cache dir: always walks, writes nothing; an unwritable cache dir is not an error', async () => {
  const { root, cacheDir } = makeTree();
  assert.ok((await run(root, undefined)).walked);
  assert.ok((await run(root, undefined)).walked);
  assert.not.ok(fs.existsSync(cacheDir));
  fs.writeFileSync(cacheDir, 'a file where the cache directory should be');
  const r = await run(root, cacheDir);
  assert.ok(r.walked);
  assert.ok(r.result.files.includes('os.py'));
  assert.equal(fs.readdirSync(path.dirname(cacheDir)).filter((n) => n.endsWith('.tmp')), []);
});

listing.run();

const packs = suite('pack: a warm run sees a module added since the last run');

packs('the second pack ships the new module and compiles only it', async () => {
  if (!havePython()) return skip('python3 is not available');
  const stdlib = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-listing-pack-'));
  const lib = path.join(top, 'Lib');
  // A small stdlib: what importing os, json and encodings needs.
  for (const rel of ['os.py', 'posixpath.py', 'genericpath.py', 'stat.py', 'abc.py', 'codecs.py', 'io.py', 'importlib/_bootstrap_external.py', 'importlib/__init__.py', 'json', 'encodings']) {
    fs.cpSync(path.join(stdlib, rel), path.join(lib, rel), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  }
  const cacheDir = path.join(top, 'cache');
  const modules = (r: Awaited<ReturnType<typeof pack>>) => r.kept.map((k) => k.path);
  const options = { lib, cacheDir, cwd: top, omittedHints: false };
  const first = await pack({ ...options, out: path.join(top, 'o1') });
  assert.ok(modules(first).includes('codecs.py'));
  assert.not.ok(modules(first).includes('extra.py'));
  fs.writeFileSync(path.join(lib, 'extra.py'), 'X = 1\n');
  const second = await pack({ ...options, out: path.join(top, 'o2') });
  assert.ok(modules(second).includes('extra.py'), 'the new module is packed');
  assert.is(second.stats.cacheMisses, 1, 'only the new module is compiled');
  const stored = JSON.parse(fs.readFileSync(path.join(cacheDir, LISTING_FILE), 'utf8'));
  assert.ok(stored.files.includes('extra.py'));
  fs.rmSync(top, { recursive: true, force: true });
});

packs.run();
