// Tests of src/compile.ts: real python3 workers, the cache on memfs.
// Cost: about 1 s on a 2-core machine.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memfs } from 'memfs';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCache, PACK_FILE } from '../src/cache/compile-cache.js';
import { compileModules, type CompileCompression, type CompiledModule, type CompileModulesStats } from '../src/pipeline/compile.js';
import { CompilerPool, probeInterpreter, type CompileItem, type CompileSettings, type InterpreterInfo } from '../src/interpreter/index.js';
import type { PackFs } from '../src/types.js';

const PYTHON = process.env.PYWASM_TEST_PYTHON ?? 'python3';
let infoPromise: Promise<InterpreterInfo> | undefined;
const getInfo = () => (infoPromise ??= probeInterpreter(PYTHON));

const SETTINGS: CompileSettings = { optimize: 0, invalidation: 'unchecked-hash' };
const DEFLATE: CompileCompression = { method: 'deflate', level: 9 };

/** Some real stdlib modules plus one that does not compile. */
async function items(): Promise<CompileItem[]> {
  const info = await getInfo();
  const names = ['json/__init__.py', 'json/decoder.py', 'json/scanner.py', 'string.py', 'bisect.py', 'fnmatch.py'];
  const real = names.map((name) => ({ path: name, filename: `/usr/local/lib/python311.zip/${name}`, source: readFileSync(join(info.stdlib!, name)) }));
  return [...real, { path: 'broken.py', filename: '/usr/local/lib/python311.zip/broken.py', source: new TextEncoder().encode('def f(:\n') }];
}

function makeFs(): PackFs {
  return memfs({}, '/').fs as unknown as PackFs;
}

async function run(fs: PackFs, list: CompileItem[], settings = SETTINGS, compression = DEFLATE, jobs = 1, keepPyc = true, enabled = true) {
  const pool = await CompilerPool.start(await getInfo(), { jobs, lazy: true });
  const cache = openCache({ dir: '/cache', fs, enabled });
  const progress: number[] = [];
  const stats: Partial<CompileModulesStats> = {};
  try {
    const modules = await compileModules(pool, cache, list, settings, compression, { onProgress: (done, total) => progress.push(done / total), stats, keepPyc });
    return { modules, cache, started: pool.size, progress, stats };
  } finally {
    await pool.close();
  }
}

const ok = (m: CompiledModule) => {
  if (!m.ok) throw new Error(`not compiled: ${m.error.message}`);
  return m;
};
const bytes = (m: CompiledModule) => Buffer.from(ok(m).compressed);

// ---

const cold = suite('compileModules: cold');

cold('compiles, compresses and caches every module', async () => {
  const list = await items();
  const { modules, cache, progress, stats } = await run(makeFs(), list);
  assert.is(modules.length, list.length);
  assert.equal([stats.hits, stats.misses, stats.corrupt], [0, list.length, 0]);
  assert.ok(stats.compressMs! > 0 && stats.compileMs! >= stats.compressMs!);
  for (const m of modules.slice(0, -1)) {
    const c = ok(m);
    assert.is(c.cached, false);
    assert.is(c.method, 8);
    assert.ok(Buffer.from(zlib.inflateRawSync(c.compressed)).equals(Buffer.from(c.pyc!)), 'inflates to the pyc');
    assert.is(c.crc, zlib.crc32(c.pyc!) >>> 0);
    assert.equal([c.entry.data, c.entry.crc, c.entry.method, c.entry.size], [c.compressed, c.crc, 8, c.pyc!.length]);
    assert.is(Buffer.from(c.pyc!).readUInt32LE(4), 0b01, 'unchecked-hash flags');
  }
  assert.equal([cache.stats.writes, cache.stats.writeErrors], [1, 0], 'one pack file, written once');
  assert.is(progress.at(-1), 1);
});

cold('a source that fails to compile is an error result, in its place, and never cached', async () => {
  const list = await items();
  const fs = makeFs();
  const first = await run(fs, list);
  const broken = first.modules.at(-1)!;
  assert.is(broken.ok, false);
  if (!broken.ok) assert.is(broken.error.line, 1);
  const second = await run(fs, list);
  assert.is(second.cache.stats.misses, 1);
  assert.is(second.started, 1, 'workers start for the one miss');
  assert.is(second.modules.at(-1)!.ok, false);
});

cold('STORED entries are the pyc itself', async () => {
  const list = (await items()).slice(0, 2);
  const { modules } = await run(makeFs(), list, SETTINGS, { method: 'stored', level: 0 });
  for (const m of modules) {
    const c = ok(m);
    assert.is(c.method, 0);
    assert.ok(Buffer.from(c.compressed).equals(Buffer.from(c.pyc!)));
  }
});

cold('imports come from the Node scan; a source it declines (not UTF-8) gets the AST scan; onSourceDone says when a source is no longer needed', async () => {
  const list = await items();
  // latin-1 with a non-ASCII byte: src/analysis/scanner/ declines it, the worker's AST scan answers.
  list.push({ path: 'latin.py', filename: '/usr/local/lib/python311.zip/latin.py', source: Buffer.from('# -*- coding: latin-1 -*-\nimport os\nX = "\xe9"\n', 'latin1') });
  const pool = await CompilerPool.start(await getInfo(), { jobs: 1, lazy: true });
  const done: number[] = [];
  try {
    const modules = await compileModules(pool, openCache({ dir: '/cache', fs: makeFs(), enabled: false }), list, SETTINGS, DEFLATE, { onSourceDone: (i) => done.push(i) });
    const latin = ok(modules[list.length - 1]);
    assert.equal(latin.imports, [{ name: 'os', level: 0, names: [], conditional: false, line: 2 }]);
    const decoder = ok(modules[1]);
    assert.ok((decoder.imports as { name: string }[]).some((r) => r.name === 're'), 'json/decoder imports re');
    // Every compiled module, once; not broken.py (index 6), which failed.
    assert.equal(done.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 7]);
  } finally {
    await pool.close();
  }
});

cold.run();

// ---

const warm = suite('compileModules: warm');

warm('a warm run reads everything from the cache, byte-identical, without starting a worker', async () => {
  const list = (await items()).slice(0, -1);
  const fs = makeFs();
  const first = await run(fs, list, SETTINGS, DEFLATE, 2);
  const second = await run(fs, list);
  assert.is(second.started, 0);
  assert.equal(second.cache.stats.hits, list.length);
  assert.equal([second.stats.hits, second.stats.misses, second.stats.compileMs], [list.length, 0, 0]);
  second.modules.forEach((m, i) => {
    assert.is(ok(m).cached, true);
    assert.ok(bytes(m).equals(bytes(first.modules[i])), list[i].path);
    assert.ok(Buffer.from(ok(m).pyc!).equals(Buffer.from(ok(first.modules[i]).pyc!)), 'the pyc, inflated from the cached entry');
    assert.equal(ok(m).imports, ok(first.modules[i]).imports);
  });
  assert.is(second.cache.stats.writes, 0, 'all hits: the pack file is not rewritten');
  assert.equal(fs.readdirSync('/cache'), [PACK_FILE]);
});

warm('keepPyc: false returns the same entries without the pycs, cold and warm', async () => {
  const list = (await items()).slice(0, 3);
  const fs = makeFs();
  const kept = await run(makeFs(), list);
  const cold = await run(fs, list, SETTINGS, DEFLATE, 1, false);
  const warm = await run(fs, list, SETTINGS, DEFLATE, 1, false);
  for (const [i, m] of [...cold.modules, ...warm.modules].entries()) {
    const c = ok(m);
    assert.is(c.pyc, undefined);
    assert.ok(Buffer.from(c.entry.data).equals(bytes(kept.modules[i % 3])));
    assert.is(c.entry.size, ok(kept.modules[i % 3]).pyc!.length);
  }
  assert.is(warm.stats.hits, 3);
});

warm('changing a setting or a file name misses', async () => {
  const list = (await items()).slice(0, 2);
  const fs = makeFs();
  await run(fs, list);
  assert.is((await run(fs, list, { ...SETTINGS, optimize: 1 })).cache.stats.hits, 0);
  assert.is((await run(fs, list, { ...SETTINGS, invalidation: 'checked-hash' })).cache.stats.hits, 0);
  assert.is((await run(fs, list, SETTINGS, { method: 'deflate', level: 6 })).cache.stats.hits, 0);
  const renamed = list.map((it) => ({ ...it, filename: it.filename.replace('/usr/local', '/opt') }));
  assert.is((await run(fs, renamed)).cache.stats.hits, 0);
  assert.is((await run(fs, list)).cache.stats.hits, 2);
});

warm('a corrupted entry is recompiled, and the result is the same bytes', async () => {
  const list = (await items()).slice(0, 3);
  const fs = makeFs();
  const first = await run(fs, list);
  // Damage two of the three entries of the pack file in different ways.
  const file = `/cache/${PACK_FILE}`;
  const data = Buffer.from(fs.readFileSync(file) as Buffer);
  const place = (i: number) => ({ offset: data.readUInt32LE(16 + 40 * i + 32), length: data.readUInt32LE(16 + 40 * i + 36) });
  assert.is(data.readUInt32LE(8), 3);
  data[place(0).offset + place(0).length - 10] ^= 0x20; // in the imports
  data[place(1).offset + 200] ^= 4; // in the deflated pyc
  fs.writeFileSync(file, data);
  const second = await run(fs, list);
  assert.is(second.cache.stats.corrupt, 2);
  assert.is(second.cache.stats.hits, 1);
  second.modules.forEach((m, i) => assert.ok(bytes(m).equals(bytes(first.modules[i])), list[i].path));
  const third = await run(fs, list);
  assert.is(third.cache.stats.hits, 3, 'the recompiled entries were written back');
});

warm('a garbage pack file is one corrupt count; everything is recompiled and the file rewritten', async () => {
  const list = (await items()).slice(0, 2);
  const fs = makeFs();
  await run(fs, list);
  fs.writeFileSync(`/cache/${PACK_FILE}`, 'garbage');
  const second = await run(fs, list);
  assert.equal([second.stats.corrupt, second.stats.hits, second.cache.stats.writes], [1, 0, 1]);
  assert.is((await run(fs, list)).stats.hits, 2);
});

warm('a disabled cache (--no-cache) compiles everything and writes nothing', async () => {
  const list = (await items()).slice(0, 2);
  const fs = makeFs();
  await run(fs, list, SETTINGS, DEFLATE, 1, true, false);
  const again = await run(fs, list, SETTINGS, DEFLATE, 1, true, false);
  assert.equal([again.stats.hits, again.stats.misses], [0, 2]);
  assert.not.ok(fs.existsSync('/cache'));
});

warm.run();
