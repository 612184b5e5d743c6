// `npm run bench`: packs the machine's CPython stdlib cold and warm, several
// runs each, and compares with a single-process Python baseline in the same
// run (test/bench/baseline.py). Prints medians and writes .cache/bench.json.
// Not a test: numbers depend on the machine (and on whatever else runs on it:
// the load average is recorded next to them).
//
//   npm run bench -- [--runs N] [--no-full] [--no-micro] [--no-checkout] [--no-pyodide]
//                    [--pyodide 0.25.1,314.0.8]  (the Pyodide releases to measure; default all)
//
// Each pack runs in its own process (test/bench/pack-once.mjs, on dist/) so
// peak RSS is that run's: `rssNode` is the Node process (process.resourceUsage),
// `rssMax` the largest process of the run (Node or a Python worker, from
// /usr/bin/time's %M, which covers waited-for descendants).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { deflateSync } from 'fflate';
import { CompilerPool, probeInterpreter, type CompileItem } from '../../src/interpreter/index.js';
import { PYODIDE, type PyodideRelease } from '../support/pyodide.js';
import { PyodideProcess } from '../support/pyodide-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const RUNS = Number(argv[argv.indexOf('--runs') + 1]) || 3;
const PYTHON = process.env.PYWASM_BENCH_PYTHON ?? 'python3';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number, digits = 0) => Number(x.toFixed(digits));

interface PackRun {
  wallMs: number;
  ms: number;
  timings: Record<string, number>;
  modules: number;
  cacheHits: number;
  cacheMisses: number;
  zipBytes: number;
  zipSha256: string;
  zipPath: string | null;
  kept: Array<{ path: string; origin?: string }>;
  warmStart?: string;
  rssNodeMb: number;
  rssMaxMb: number;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ').slice(0, 200)} exited ${code}:\n${stderr}`));
      else resolve({ stdout, stderr, wallMs });
    });
  });
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

async function packOnce(options: Record<string, unknown>): Promise<PackRun> {
  const script = join(here, 'pack-once.mjs');
  const args = [process.execPath, script, JSON.stringify(options)];
  const { stdout, stderr, wallMs } = TIME ? await run(TIME, ['-f', 'maxrss=%M', ...args]) : await run(args[0], args.slice(1));
  const lines = stdout.trim().split('\n');
  const data = JSON.parse(lines[lines.length - 1]);
  data.zipSha256 = data.zipPath ? createHash('sha256').update(readFileSync(data.zipPath)).digest('hex') : null;
  const rssMax = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? data.maxRssKb);
  return { ...data, wallMs, rssNodeMb: data.maxRssKb / 1024, rssMaxMb: rssMax / 1024 };
}

async function baselineOnce(lib: string, paths: string[], work: string): Promise<{ wallMs: number; ms: number; zipBytes: number }> {
  const list = join(work, 'baseline-list.json');
  writeFileSync(list, JSON.stringify(paths));
  const out = join(work, 'baseline.zip');
  const { stdout, wallMs } = await run(PYTHON, ['-E', '-s', '-B', join(here, 'baseline.py'), lib, list, out]);
  const data = JSON.parse(stdout.trim());
  return { wallMs, ms: data.ms, zipBytes: data.zip_bytes };
}

function summarize(runs: PackRun[]) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.timings)))];
  return {
    runs: runs.length,
    wallMs: round(median(runs.map((r) => r.wallMs))),
    packMs: round(median(runs.map((r) => r.ms))),
    phasesMs: Object.fromEntries(keys.map((k) => [k, round(median(runs.map((r) => r.timings[k] ?? 0)))])),
    modules: runs[0].modules,
    filesPerSecond: round(median(runs.map((r) => r.modules / (r.wallMs / 1000)))),
    cacheHits: runs[0].cacheHits,
    zipBytes: runs[0].zipBytes,
    rssNodeMb: round(Math.max(...runs.map((r) => r.rssNodeMb)), 1),
    rssMaxMb: round(Math.max(...runs.map((r) => r.rssMaxMb)), 1),
  };
}

async function scenario(name: string, lib: string, extra: Record<string, unknown>, work: string) {
  console.log(`\n== ${name} (${RUNS} runs each; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  const base = { lib, buildPython: PYTHON, ...extra };
  const cold: PackRun[] = [];
  let cacheDir = '';
  for (let i = 0; i < RUNS; i++) {
    cacheDir = mkdtempSync(join(work, 'cache-'));
    cold.push(await packOnce({ ...base, out: mkdtempSync(join(work, 'out-')), cacheDir }));
    process.stdout.write(`  cold ${i + 1}: ${cold[i].wallMs.toFixed(0)} ms\n`);
  }
  const warm: PackRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    warm.push(await packOnce({ ...base, out: mkdtempSync(join(work, 'out-')), cacheDir }));
    process.stdout.write(`  warm ${i + 1}: ${warm[i].wallMs.toFixed(0)} ms\n`);
  }
  const jobs1 = await packOnce({ ...base, out: mkdtempSync(join(work, 'out-')), cacheDir: mkdtempSync(join(work, 'cache-')), jobs: 1 });
  process.stdout.write(`  cold --jobs 1: ${jobs1.wallMs.toFixed(0)} ms\n`);
  const paths = cold[0].kept.filter((k) => (k.origin ?? 'stdlib') === 'stdlib' && k.path.endsWith('.py')).map((k) => k.path);
  const baseline: Array<{ wallMs: number; ms: number; zipBytes: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await baselineOnce(lib, paths, work));
    process.stdout.write(`  baseline ${i + 1}: ${baseline[i].wallMs.toFixed(0)} ms\n`);
  }
  const b = round(median(baseline.map((r) => r.wallMs)));
  const c = summarize(cold);
  const w = summarize(warm);
  const identical = new Set([...cold, ...warm, jobs1].map((r) => r.zipSha256)).size === 1;
  const result = {
    cold: c,
    warm: w,
    coldJobs1: summarize([jobs1]),
    baseline: { runs: RUNS, files: paths.length, wallMs: b, scriptMs: round(median(baseline.map((r) => r.ms))), zipBytes: baseline[0].zipBytes },
    ratio: { cold: round(c.wallMs / b, 2), warm: round(w.wallMs / b, 2) },
    identicalZips: identical,
  };
  console.log(`  cold   ${c.wallMs} ms  (pack ${c.packMs} ms, ${c.filesPerSecond} files/s, ${c.modules} modules)  phases ${JSON.stringify(c.phasesMs)}`);
  console.log(`  warm   ${w.wallMs} ms  (pack ${w.packMs} ms, ${w.filesPerSecond} files/s, cache hits ${w.cacheHits})  phases ${JSON.stringify(w.phasesMs)}`);
  console.log(`  jobs=1 ${result.coldJobs1.wallMs} ms cold`);
  console.log(`  baseline (python3 + zipfile, 1 process) ${b} ms for ${paths.length} files, zip ${(result.baseline.zipBytes / 2 ** 20).toFixed(2)} MiB; ours ${(c.zipBytes / 2 ** 20).toFixed(2)} MiB`);
  console.log(`  ratio cold ${result.ratio.cold}× (target ≤ 0.5), warm ${result.ratio.warm}× (target ≤ 0.15); peak RSS node ${Math.max(c.rssNodeMb, w.rssNodeMb)} MB, largest process ${Math.max(c.rssMaxMb, w.rssMaxMb)} MB (target ≤ 250)`);
  console.log(`  byte-identical zips across cold, warm and --jobs 1: ${identical}`);
  return result;
}

// --- checkout: a CPython source tree and build root, against the reference script itself ---

/**
 * The reference's own use: CPython 3.11.2's Tools/wasm/wasm_assets.py run as its Makefile runs
 * it (from the build root, with PYTHON_FOR_BUILD's environment), on a private copy of the tree
 * (it writes __pycache__/ into Lib/ and reuses it: its warm run), against `pack --srcdir
 * --builddir` on the same tree, with the same interpreter. Cold: no __pycache__ / an empty
 * cache; warm: the previous run's. Alternating, so both see the same machine.
 */
async function checkout(work: string) {
  const source = join(root, '.cache', 'cpython-3.11.2');
  if (!existsSync(join(source, 'Tools/wasm/wasm_assets.py'))) {
    console.log('\n== checkout: skipped (no .cache/cpython-3.11.2: bash test/support/fetch-cpython.sh)');
    return undefined;
  }
  console.log(`\n== checkout: pack --srcdir --builddir of CPython 3.11.2 vs its wasm_assets.py (${RUNS} runs each, alternating; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  const src = join(work, 'cpython');
  // Each tool gets its own copy: the reference writes __pycache__/ into its Lib/ (changing
  // its directories), which a checkout pack's listing cache would rightly distrust. Timestamps
  // kept: a checkout is not a tree modified a second ago (the listing cache trusts only
  // directories older than its walk by 2 s, the racy-git rule).
  const copy = (from: string, to: string) => cpSync(from, to, { recursive: true, preserveTimestamps: true });
  copy(join(source, 'Lib'), join(src, 'Lib'));
  copy(join(source, 'Tools/wasm'), join(src, 'Tools/wasm'));
  const build = join(work, 'build');
  copy(join(root, 'test/fixtures/builds/emscripten-3.11'), build);
  const mine = join(work, 'cpython-ours');
  copy(join(source, 'Lib'), join(mine, 'Lib'));
  const myBuild = join(work, 'build-ours');
  copy(join(root, 'test/fixtures/builds/emscripten-3.11'), myBuild);
  const pybuilddir = readFileSync(join(build, 'pybuilddir.txt'), 'utf8');
  const env = {
    ...process.env,
    _PYTHON_PROJECT_BASE: build,
    _PYTHON_HOST_PLATFORM: 'emscripten-wasm32',
    PYTHONPATH: `${join(build, pybuilddir)}:${join(src, 'Lib')}`,
    _PYTHON_SYSCONFIGDATA_NAME: '_sysconfigdata__emscripten_wasm32-emscripten',
  };
  const reference = async (cold: boolean) => {
    if (cold) execFileSync('find', [join(src, 'Lib'), '-name', '__pycache__', '-prune', '-exec', 'rm', '-rf', '{}', '+']);
    rmSync(join(build, 'usr'), { recursive: true, force: true });
    const started = performance.now();
    execFileSync(PYTHON, [join(src, 'Tools/wasm/wasm_assets.py'), '--buildroot', '.', '--prefix', '/usr/local'], { cwd: build, env, stdio: 'ignore' });
    return performance.now() - started;
  };
  const ours = (cacheDir: string) => packOnce({ srcdir: mine, builddir: myBuild, buildPython: PYTHON, profile: 'cpython', out: mkdtempSync(join(work, 'out-')), cacheDir });
  const refCold: number[] = [];
  const refWarm: number[] = [];
  const cold: PackRun[] = [];
  const warm: PackRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    refCold.push(await reference(true));
    const cacheDir = mkdtempSync(join(work, 'cache-'));
    cold.push(await ours(cacheDir));
    refWarm.push(await reference(false));
    warm.push(await ours(cacheDir));
    process.stdout.write(`  run ${i + 1}: reference cold ${refCold[i].toFixed(0)} ms, ours cold ${cold[i].wallMs.toFixed(0)} ms; reference warm ${refWarm[i].toFixed(0)} ms, ours warm ${warm[i].wallMs.toFixed(0)} ms\n`);
  }
  const c = summarize(cold);
  const w = summarize(warm);
  const result = {
    reference: { coldMs: round(median(refCold)), warmMs: round(median(refWarm)) },
    cold: c,
    warm: w,
    ratio: { cold: round(c.wallMs / median(refCold), 2), warm: round(w.wallMs / median(refWarm), 2) },
  };
  console.log(`  reference wasm_assets.py: cold ${result.reference.coldMs} ms, warm ${result.reference.warmMs} ms (its __pycache__/ reused)`);
  console.log(`  ours: cold ${c.wallMs} ms, warm ${w.wallMs} ms (warm start ${warm.map((r) => r.warmStart).join(' ')})  phases ${JSON.stringify(w.phasesMs)}`);
  console.log(`  ratio cold ${result.ratio.cold}×, warm ${result.ratio.warm}× (target ≤ 0.2)`);
  return result;
}

// --- pyodide: the drop-in python_stdlib.zip against each release's own ---

/** The 17 modules of issue 12's table: what a typical program imports after boot. */
const COMMON_MODULES = ['asyncio', 'json', 'email.message', 'decimal', 'typing', 'dataclasses', 'inspect', 'logging', 'argparse', 'unittest', 'xml.dom.minidom', 'statistics', 'fractions', 'pathlib', 'zipfile', 'tarfile', 'csv'];

/** A native CPython of the release's version when one is here (same magic number), else none: that Pyodide compiles. */
function nativeFor(release: PyodideRelease): string | undefined {
  const minor = release.python.split('.').slice(0, 2).join('.');
  const candidates = [`python${minor}`, ...(minor === '3.13' ? [join(root, '.cache/python-3.13.15/bin/python3.13')] : [])];
  for (const candidate of candidates) {
    try {
      const version = execFileSync(candidate, ['-E', '-c', 'import sys;print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (version === minor) return candidate;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** Bytes as a server would send them: raw, Brotli at quality 11 (window 2^24, as --precompress), gzip -9. */
async function wireBytes(file: string) {
  const data = readFileSync(file);
  const br = promisify(zlib.brotliCompress);
  const gz = promisify(zlib.gzip);
  const [b, g] = await Promise.all([
    br(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 24, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    gz(data, { level: 9 }),
  ]);
  return { raw: data.length, br: b.length, gz: g.length };
}

/** Boots `release` on `zip` in a fresh process, then imports COMMON_MODULES in one runPython. */
async function bootOnce(release: PyodideRelease, zip: string) {
  const py = PyodideProcess.start(release, zip);
  try {
    const bootMs = await py.loadMs;
    const started = performance.now();
    const answer = await py.run(`import ${COMMON_MODULES.join(', ')}\n'ok'`);
    if (answer.result !== 'ok') throw new Error(`Pyodide ${release.release} could not import the common modules from ${zip}: ${answer.stderr}`);
    return { bootMs, importMs: performance.now() - started };
  } finally {
    py.close();
  }
}

/**
 * Per release: pack it in Pyodide mode (stored: the recipe for servers that send precompressed
 * files; deflate: the default), then boot that Pyodide RUNS times on its own zip and on ours,
 * alternating, each boot a fresh Node process; medians. Targets (issue 12): boot ≤ 0.5×,
 * imports ≤ 0.2×, Brotli bytes ≤ 1.0× of the release's own.
 */
async function pyodideBench(work: string, only: string[] | undefined) {
  const results: Record<string, unknown> = {};
  for (const release of Object.values(PYODIDE)) {
    if (only && !only.includes(release.release)) continue;
    const native = nativeFor(release);
    console.log(`\n== pyodide ${release.release} (CPython ${release.python}; compiled by ${native ?? 'that Pyodide'}; ${RUNS} boots each, alternating; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
    const cacheDir = mkdtempSync(join(work, 'cache-'));
    const packed = async (compression: string) => {
      const out = mkdtempSync(join(work, 'out-'));
      const started = performance.now();
      const r = await packOnce({ pyodide: release.dir, ...(native ? { buildPython: native } : {}), compression, out, cacheDir });
      return { zip: r.zipPath!, packMs: performance.now() - started };
    };
    const stored = await packed('stored');
    const deflated = await packed('deflate');
    const bytes = {
      theirs: await wireBytes(release.stdlibZip),
      oursStored: await wireBytes(stored.zip),
      oursDeflated: await wireBytes(deflated.zip),
    };
    const theirs: Array<{ bootMs: number; importMs: number }> = [];
    const ours: Array<{ bootMs: number; importMs: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      theirs.push(await bootOnce(release, release.stdlibZip));
      ours.push(await bootOnce(release, stored.zip));
      process.stdout.write(`  run ${i + 1}: own zip boot ${theirs[i].bootMs.toFixed(0)} ms + imports ${theirs[i].importMs.toFixed(0)} ms; ours ${ours[i].bootMs.toFixed(0)} + ${ours[i].importMs.toFixed(0)} ms\n`);
    }
    const med = (xs: Array<{ bootMs: number; importMs: number }>) => ({ bootMs: round(median(xs.map((x) => x.bootMs))), importMs: round(median(xs.map((x) => x.importMs))) });
    const t = med(theirs);
    const o = med(ours);
    const ratio = { boot: round(o.bootMs / t.bootMs, 2), imports: round(o.importMs / t.importMs, 2), brotli: round(bytes.oursStored.br / bytes.theirs.br, 3) };
    const fmt = (b: { raw: number; br: number; gz: number }) => `${b.raw.toLocaleString('en')} raw, ${b.br.toLocaleString('en')} br-11, ${b.gz.toLocaleString('en')} gz-9`;
    console.log(`  pack (cold, stored) ${round(stored.packMs)} ms`);
    console.log(`  bytes: own ${fmt(bytes.theirs)}; ours stored ${fmt(bytes.oursStored)}; ours deflated ${fmt(bytes.oursDeflated)}`);
    console.log(`  boot ${o.bootMs} vs ${t.bootMs} ms (${ratio.boot}×, target ≤ 0.5); imports ${o.importMs} vs ${t.importMs} ms (${ratio.imports}×, target ≤ 0.2); brotli ${ratio.brotli}× (target ≤ 1.0)`);
    results[release.release] = { python: release.python, compiledBy: native ?? 'pyodide', packMs: round(stored.packMs), bytes, theirs: t, ours: o, ratio };
  }
  return results;
}

// --- micro: compile throughput by worker count, deflate implementations ---

async function stdlibItems(lib: string, paths: string[]): Promise<CompileItem[]> {
  return paths.map((p) => ({ path: p, filename: `/usr/local/lib/python311.zip/${p}`, source: readFileSync(join(lib, p)) }));
}

async function micro(lib: string, paths: string[]) {
  console.log(`\n== micro: compile and deflate of ${paths.length} modules (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  const items = await stdlibItems(lib, paths);
  const info = await probeInterpreter(PYTHON);
  const compile: Record<string, number> = {};
  let pycs: Uint8Array[] = [];
  for (const imports of [true, false]) {
    for (const jobs of [1, 2]) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const pool = await CompilerPool.start(info, { jobs });
        const t = performance.now();
        const out = await pool.compile(items, { optimize: 0, invalidation: 'unchecked-hash', imports });
        times.push(performance.now() - t);
        await pool.close();
        pycs = out.flatMap((o) => (o.ok ? [o.pyc] : []));
      }
      const ms = median(times);
      compile[`jobs${jobs}${imports ? '' : '-noimports'}`] = round(ms);
      console.log(`  compile ${imports ? 'with AST import scan' : 'no import scan      '} jobs=${jobs}: ${ms.toFixed(0)} ms (${round(items.length / (ms / 1000))} files/s)`);
    }
  }
  // The import scan the pack uses (src/pyscan.ts, on dist/), in a fresh process: its first
  // pass over the files includes the JIT's warm-up, as in a real cold pack.
  const scanScript = `
    import { readFileSync } from 'node:fs';
    import { findImports } from ${JSON.stringify(join(root, 'dist/analysis/scanner/index.js'))};
    const files = JSON.parse(process.argv[1]).map((p) => readFileSync(p));
    const pass = () => { const t = performance.now(); for (const f of files) findImports(f); return performance.now() - t; };
    const first = pass();
    console.log(JSON.stringify({ first, again: pass() }));`;
  const scanRuns: Array<{ first: number; again: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', scanScript, JSON.stringify(paths.map((p) => join(lib, p)))]);
    scanRuns.push(JSON.parse(stdout));
  }
  const scan = { firstMs: round(median(scanRuns.map((r) => r.first))), againMs: round(median(scanRuns.map((r) => r.again))) };
  console.log(`  import scan in Node (src/analysis/scanner/): ${scan.firstMs} ms first pass (JIT warming up), ${scan.againMs} ms again`);
  const pycBytes = pycs.reduce((a, p) => a + p.length, 0);
  const deflate: Record<string, { ms: number; bytes: number }> = {};
  const measure = async (name: string, fn: () => Promise<number> | number) => {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      bytes = await fn();
      times.push(performance.now() - t);
    }
    deflate[name] = { ms: round(median(times)), bytes };
    console.log(`  deflate ${name.padEnd(30)} ${median(times).toFixed(0).padStart(5)} ms  ${(bytes / 2 ** 20).toFixed(3)} MiB (from ${(pycBytes / 2 ** 20).toFixed(2)} MiB)`);
  };
  await measure('node:zlib deflateRawSync L9', () => pycs.reduce((a, p) => a + zlib.deflateRawSync(p, { level: 9 }).length, 0));
  await measure('node:zlib deflateRawSync L9 mem9', () => pycs.reduce((a, p) => a + zlib.deflateRawSync(p, { level: 9, memLevel: 9 }).length, 0));
  await measure('fflate deflateSync L9', () => pycs.reduce((a, p) => a + deflateSync(p, { level: 9 }).length, 0));
  await measure('node:zlib async (libuv pool) L9', async () => {
    const sizes = await Promise.all(pycs.map((p) => new Promise<number>((res, rej) => zlib.deflateRaw(p, { level: 9 }, (e, b) => (e ? rej(e) : res(b.length))))));
    return sizes.reduce((a, b) => a + b, 0);
  });
  await measure(`worker_threads x${availableParallelism()} zlib L9`, () => deflateInThreads(pycs, availableParallelism()));
  await measure('crc32 (node:zlib) only', () => pycs.reduce((a, p) => a + (zlib.crc32(p) & 1), 0));
  return { modules: items.length, pycBytes, compileMs: compile, scan, deflate };
}

async function deflateInThreads(pycs: Uint8Array[], n: number): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const zlib = require('node:zlib');
    parentPort.on('message', (list) => {
      let total = 0;
      for (const p of list) total += zlib.deflateRawSync(p, { level: 9 }).length;
      parentPort.postMessage(total);
    });`;
  const workers = Array.from({ length: n }, () => new Worker(code, { eval: true }));
  try {
    const shares = workers.map((_, i) => pycs.filter((__, k) => k % n === i));
    const totals = await Promise.all(
      workers.map((w, i) => new Promise<number>((res) => { w.once('message', res); w.postMessage(shares[i]); })),
    );
    return totals.reduce((a, b) => a + b, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

// ---

const lib = execFileSync(PYTHON, ['-E', '-c', 'import sysconfig;print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does).');
const work = mkdtempSync(join(tmpdir(), 'pywasm-bench-'));
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  python: execFileSync(PYTHON, ['-E', '-c', 'import sys;print(sys.version.split()[0])'], { encoding: 'utf8' }).trim(),
  cpus: availableParallelism(),
  loadavgStart: loadavg(),
  lib,
};
try {
  const stdlib = await scenario('stdlib, default profile', lib, {}, work);
  report.stdlib = stdlib;
  if (!flag('--no-micro')) {
    const first = await packOnce({ lib, buildPython: PYTHON, out: mkdtempSync(join(work, 'out-')), cache: false });
    const paths = first.kept.filter((k) => (k.origin ?? 'stdlib') === 'stdlib' && k.path.endsWith('.py')).map((k) => k.path);
    report.micro = await micro(lib, paths);
  }
  if (!flag('--no-checkout')) report.checkout = await checkout(work);
  if (!flag('--no-pyodide')) {
    const only = argv.includes('--pyodide') ? argv[argv.indexOf('--pyodide') + 1].split(',') : undefined;
    report.pyodide = await pyodideBench(work, only);
  }
  if (!flag('--no-full')) {
    report.full = await scenario('full tree incl. tests (--keep "**" --allow-syntax-errors)', lib, { keep: ['**'], allowSyntaxErrors: true }, work);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
report.loadavgEnd = loadavg();
mkdirSync(join(root, '.cache'), { recursive: true });
writeFileSync(join(root, '.cache', 'bench.json'), JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote .cache/bench.json (sha256 ${createHash('sha256').update(JSON.stringify(report)).digest('hex').slice(0, 12)})`);
