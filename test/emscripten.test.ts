/**
 * Proof that the package (createPackage / pack --package) works in a real
 * Emscripten runtime: Debian's emcc 3.1.6 builds test/fixtures/emscripten/list-files.c,
 * which walks /usr/local in the virtual file system and prints size and CRC-32
 * of every file; the tests compare that with the bytes on disk. Node.js (loader
 * as --pre-js; loader evaluated with Module passed to a MODULARIZE factory,
 * before and after the runtime started) and headless Chromium (page on localhost).
 * Failures (missing / truncated .data, shifted offsets) must end the program
 * quickly with a clear message: every run has a 20 s timeout.
 *
 * Cost on a 2-core machine: 10-17 s in all; of that about 3 s for the three
 * emcc builds on the first run only (cached in .cache/emscripten-test/), 5-10 s
 * for one real pack(), 0.1-0.3 s per Node.js run, 1-2 s per Chromium page and
 * 0.5 s per run of Debian's file_packager. The file prints its timings.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPackage, type EmscriptenPackage, type PackageFile } from '../src/output/packager/index.js';
import {
  DEBIAN_FILE_PACKAGER,
  buildProgram,
  dumpDom,
  elementText,
  expectedListing,
  fixtures,
  installBuild,
  missingChromium,
  missingEmscripten,
  parseListing,
  runNode,
  serveDir,
  type Build,
  type RunResult,
} from './support/emscripten.js';

const TIMEOUT_MS = 20_000;
const skipEmscripten = missingEmscripten();
const skipChromium = skipEmscripten ?? missingChromium();
// Skipped with a message where the tools are missing, except under CI (which installs them), where that fails.
if (skipChromium && process.env.CI) {
  const requirements = suite('emscripten: requirements');
  requirements('emcc and chromium are installed (.ci/run installs emscripten and chromium)', () =>
    assert.unreachable(skipChromium),
  );
  requirements.run();
} else if (skipEmscripten) console.log(`  skipping the Emscripten runtime tests: ${skipEmscripten}`);
else if (skipChromium) console.log(`  skipping the Chromium tests: ${skipChromium}`);

/** Registers nothing: skipped suites stay empty (uvu's skip() would count in the summary). */
const noTest = (() => {}) as unknown as Test<{ build?: Build }>;
const timings: Record<string, number> = {};
/** Set when the first suite starts: uvu imports every test file before it runs any. */
let fileStarted = 0;
const scratch = mkdtempSync(join(tmpdir(), 'pywasm-emscripten-'));
let counter = 0;
const freshDir = (label: string) => {
  const dir = join(scratch, `${++counter}-${label}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** The stdlib's os.py of the machine's python3 (a real file of the bundle), else a stand-in. */
function machineOsPy(): Uint8Array {
  const found = spawnSync('python3', ['-I', '-S', '-c', 'import os, sys; sys.stdout.write(os.__file__)'], {
    encoding: 'utf8',
  });
  if (!found.error && found.status === 0) return readFileSync(found.stdout);
  return new TextEncoder().encode('# os.py stand-in: python3 not found\n');
}

/**
 * A bundle-shaped tree under /usr/local: a real zip, os.py, the empty
 * lib-dynload/.empty, and names that exercise escaping and sorting (non-ASCII,
 * astral vs. BMP, quote and backslash).
 */
function syntheticTree(): PackageFile[] {
  const enc = new TextEncoder();
  const zip = zipSync(
    { 'abc.py': enc.encode('x = 1\n'.repeat(500)), 'pkg/__init__.py': enc.encode('') },
    { level: 9, mtime: new Date(1980, 0, 1) },
  );
  const lib = '/usr/local/lib/python3.11';
  return [
    { path: '/usr/local/lib/python311.zip', data: zip },
    { path: `${lib}/os.py`, data: machineOsPy() },
    { path: `${lib}/lib-dynload/.empty`, data: new Uint8Array() },
    { path: `${lib}/site-packages/na\u00efve-\u20acuro.txt`, data: enc.encode('caf\u00e9\n') },
    { path: `${lib}/site-packages/\uff5e.txt`, data: enc.encode('fullwidth tilde\n') },
    { path: `${lib}/site-packages/\u{1f600}.txt`, data: enc.encode('grinning face\n') },
    { path: `${lib}/site-packages/q"uote \\ back.txt`, data: enc.encode('quote and backslash\n') },
  ];
}

/** Writes the package's artefacts into `dir`. */
function writePackage(dir: string, pkg: EmscriptenPackage): void {
  writeFileSync(join(dir, pkg.dataFileName), pkg.data);
  writeFileSync(join(dir, pkg.loaderFileName), pkg.loader);
  if (pkg.metadataFileName) writeFileSync(join(dir, pkg.metadataFileName), pkg.metadata);
}

/** Writes the files themselves under `dir` (the tree file_packager would be pointed at). */
function writeTree(dir: string, files: PackageFile[]): void {
  for (const file of files) {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.data);
  }
}

type Entry = { filename: string; start: number; end: number };

/** Each file's bytes (base64) by VFS path: order-free, so packages of different versions compare. */
function slices(files: Entry[], data: Uint8Array): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f.filename, Buffer.from(data.subarray(f.start, f.end)).toString('base64')]));
}

/**
 * Runs Debian's file_packager 3.1.6 as `--preload <out>/usr/local@/usr/local --separate-metadata`
 * in a scratch directory and returns its metadata and data.
 */
function debianPackage(out: string): { metadata: { files: Entry[]; remote_package_size: number; package_uuid?: string }; data: Uint8Array } {
  const dir = freshDir('debian-file-packager');
  const started = performance.now();
  const ran = spawnSync(
    'python3',
    [DEBIAN_FILE_PACKAGER, 'deb.data', '--preload', `${out}/usr/local@/usr/local`, '--separate-metadata', '--js-output=deb.js'],
    { cwd: dir, encoding: 'utf8', timeout: 60_000 },
  );
  timings['debian file_packager'] = (timings['debian file_packager'] ?? 0) + performance.now() - started;
  assert.is(ran.status, 0, `Debian's file_packager failed: ${ran.stderr}`);
  return {
    metadata: JSON.parse(readFileSync(join(dir, 'deb.js.metadata'), 'utf8')),
    data: readFileSync(join(dir, 'deb.data')),
  };
}

/** What upstream file_packager 3.1.19+ writes as metadata for `--preload <src>@<dst>` (fixtures/emscripten/upstream-metadata.py). */
function upstreamMetadata(src: string, dst: string): string {
  const ran = spawnSync('python3', [join(fixtures, 'upstream-metadata.py'), src, dst], { encoding: 'utf8' });
  assert.is(ran.status, 0, ran.stderr);
  return ran.stdout;
}

function assertFailsFast(result: RunResult, fragments: string[]): void {
  const output = result.stdout + result.stderr;
  assert.not.ok(result.timedOut, `hung for ${TIMEOUT_MS} ms instead of failing:\n${output}`);
  assert.is.not(result.code, 0, `exited 0 although the package is broken:\n${output}`);
  assert.not.match(result.stdout, /^END /m, 'main() ran without the files');
  for (const fragment of fragments) assert.match(output, fragment);
}

const TREE = syntheticTree();
const SEPARATE = createPackage(TREE, { name: 'python' });

// ---
const prejs = suite<{ build?: Build }>('emscripten (Node.js): the loader as --pre-js');
const itPrejs = skipEmscripten ? noTest : prejs;

prejs.before(async (context) => {
  fileStarted = performance.now();
  if (skipEmscripten) return;
  // With separate metadata the loader text depends only on the name, so one build serves every tree.
  const build = await buildProgram('prejs', SEPARATE.loader);
  timings[`emcc prejs (${build.compiled ? 'compiled' : 'cached'})`] = build.ms;
  context.build = build;
});

itPrejs('a real pack() bundle: the program reads the zip, os.py and .empty with the bytes on disk', async (context) => {
  const { pack } = await import('../src/index.js');
  const out = freshDir('pack');
  const started = performance.now();
  const result = await pack({ out, package: 'python' });
  timings['pack()'] = performance.now() - started;
  const kinds = result.outputs.map((o) => o.kind).sort();
  assert.equal(kinds, ['lib-dynload', 'os.py', 'package-data', 'package-loader', 'package-metadata', 'zip']);
  const loader = result.outputs.find((o) => o.kind === 'package-loader')!;
  assert.is(readFileSync(loader.path, 'utf8'), SEPARATE.loader, 'pack() wrote the loader the program was built with');

  const onDisk = result.outputs
    .filter((o) => o.kind === 'zip' || o.kind === 'os.py' || o.kind === 'lib-dynload')
    .map((o) => ({ path: '/' + o.path.slice(out.length + 1), data: readFileSync(o.path) }));
  assert.equal(
    onDisk.map((f) => f.path).sort(),
    ['/usr/local/lib/python3.11/lib-dynload/.empty', '/usr/local/lib/python3.11/os.py', '/usr/local/lib/python311.zip'],
  );
  const program = installBuild(context.build!, out);
  const ran = await runNode([program, '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  timings['node: pack() bundle'] = ran.ms;
  assert.is(ran.code, 0, ran.stderr);
  assert.equal(parseListing(ran.stdout), expectedListing(onDisk));

  // The package pack() wrote is the one file_packager makes of <out>/usr/local@/usr/local.
  const metadata = readFileSync(join(out, 'python.js.metadata'), 'utf8');
  assert.is(metadata, upstreamMetadata(join(out, 'usr/local'), '/usr/local'));
  const debian = debianPackage(out);
  const ours = JSON.parse(metadata);
  assert.equal(slices(ours.files, readFileSync(join(out, 'python.data'))), slices(debian.metadata.files, debian.data));
});

itPrejs('a tree with non-ASCII, astral, quote and backslash names arrives intact', async (context) => {
  const dir = freshDir('synthetic');
  writePackage(dir, SEPARATE);
  const ran = await runNode([installBuild(context.build!, dir), '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  timings['node: pre-js synthetic'] = ran.ms;
  assert.is(ran.code, 0, ran.stderr);
  assert.equal(parseListing(ran.stdout), expectedListing(TREE));
  assert.match(ran.stdout, /^D \/usr\/local\/lib\/python3.11\/lib-dynload$/m, 'the directory of .empty exists');
});

itPrejs('a missing .data fails at once, naming the file', async (context) => {
  const dir = freshDir('missing');
  writePackage(dir, SEPARATE);
  rmSync(join(dir, 'python.data'));
  const ran = await runNode([installBuild(context.build!, dir), '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  timings['node: missing .data'] = ran.ms;
  assertFailsFast(ran, ['pywasm-assets loader: cannot read python.data', join(dir, 'python.data'), 'ENOENT']);
});

itPrejs('a missing .js.metadata fails at once, naming the file', async (context) => {
  const dir = freshDir('missing-metadata');
  writePackage(dir, SEPARATE);
  rmSync(join(dir, 'python.js.metadata'));
  const ran = await runNode([installBuild(context.build!, dir), '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  assertFailsFast(ran, ['cannot read python.js.metadata', 'ENOENT']);
});

itPrejs('a truncated .data fails at once with the expected and actual sizes', async (context) => {
  const dir = freshDir('truncated');
  writePackage(dir, SEPARATE);
  const size = SEPARATE.data.length;
  writeFileSync(join(dir, 'python.data'), SEPARATE.data.subarray(0, size - 100));
  const ran = await runNode([installBuild(context.build!, dir), '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  timings['node: truncated .data'] = ran.ms;
  assertFailsFast(ran, [`is ${size - 100} bytes but python.js.metadata expects ${size} (remote_package_size)`, 'truncated']);
});

itPrejs('a metadata offset off by one fails at once, naming the file', async (context) => {
  const dir = freshDir('offset');
  writePackage(dir, SEPARATE);
  const metadata = JSON.parse(SEPARATE.metadata);
  const victim = metadata.files.find((f: { filename: string }) => f.filename.endsWith('/os.py'));
  victim.start += 1; // os.py would silently lose its first byte
  writeFileSync(join(dir, 'python.js.metadata'), JSON.stringify(metadata));
  const ran = await runNode([installBuild(context.build!, dir), '/usr/local'], { cwd: tmpdir(), timeoutMs: TIMEOUT_MS });
  timings['node: offset off by one'] = ran.ms;
  assertFailsFast(ran, [`${victim.filename} starts at byte ${victim.start} but the previous file ends at byte ${victim.start - 1}`]);
});

// ---
const modular = suite<{ build?: Build }>('emscripten (Node.js): Module passed in to a MODULARIZE factory');
const itModular = skipEmscripten ? noTest : modular;
const harness = join(fixtures, 'modular-harness.cjs');

modular.before(async (context) => {
  if (skipEmscripten) return;
  const build = await buildProgram('modular');
  timings[`emcc modular -O1 (${build.compiled ? 'compiled' : 'cached'})`] = build.ms;
  context.build = build;
});

itModular('the loader evaluated with Module in scope, then the factory called with it', async (context) => {
  const dir = freshDir('modular');
  writePackage(dir, SEPARATE);
  installBuild(context.build!, dir);
  const ran = await runNode([harness, dir, 'before', '/usr/local'], { timeoutMs: TIMEOUT_MS });
  timings['node: modular'] = ran.ms;
  assert.is(ran.code, 0, ran.stderr);
  assert.equal(parseListing(ran.stdout), expectedListing(TREE));
});

itModular('after the runtime started (calledRun): inline metadata, data from getPreloadedPackage', async (context) => {
  const dir = freshDir('late');
  const inline = createPackage(TREE, { name: 'python', inlineMetadata: true });
  writePackage(dir, inline);
  installBuild(context.build!, dir);
  const ran = await runNode([harness, dir, 'late', '/usr/local'], { timeoutMs: TIMEOUT_MS });
  timings['node: modular, calledRun'] = ran.ms;
  assert.is(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, `getPreloadedPackage ${join(dir, 'python.data')} ${inline.data.length}`);
  assert.equal(parseListing(ran.stdout), expectedListing(TREE));
});

itModular('a truncated .data calls Module.onAbort and ends the process', async (context) => {
  const dir = freshDir('modular-truncated');
  writePackage(dir, SEPARATE);
  writeFileSync(join(dir, 'python.data'), SEPARATE.data.subarray(0, 10));
  installBuild(context.build!, dir);
  const ran = await runNode([harness, dir, 'before', '/usr/local'], { timeoutMs: TIMEOUT_MS });
  assertFailsFast(ran, ['onAbort: pywasm-assets loader: python.data', 'is 10 bytes but']);
});

// ---
const browser = suite<{ build?: Build }>('emscripten (Chromium): the loader as a script before the runtime');
const itBrowser = skipChromium ? noTest : browser;

browser.before(async (context) => {
  if (skipChromium) return;
  const build = await buildProgram('web');
  timings[`emcc web (${build.compiled ? 'compiled' : 'cached'})`] = build.ms;
  context.build = build;
});

async function loadPage(dir: string, build: Build, query = '') {
  installBuild(build, dir);
  writeFileSync(join(dir, 'index.html'), readFileSync(join(fixtures, 'index.html')));
  const server = await serveDir(dir);
  try {
    const result = await dumpDom(server.url + 'index.html' + query, 45_000);
    assert.not.ok(result.timedOut, `chromium did not finish:\n${result.stderr.slice(-2000)}`);
    return {
      ...result,
      requests: server.requests,
      status: elementText(result.dom, 'status'),
      out: elementText(result.dom, 'out'),
      xhr: elementText(result.dom, 'xhr'),
    };
  } finally {
    await server.close();
  }
}

itBrowser('a page on localhost fetches .js.metadata and .data and the program reads every file', async (context) => {
  const dir = freshDir('browser');
  writePackage(dir, SEPARATE);
  const page = await loadPage(dir, context.build!);
  timings['chromium: page'] = page.ms;
  assert.is(page.status, 'exit 0', `status ${page.status}; output:\n${page.out}`);
  assert.equal(parseListing(page.out ?? ''), expectedListing(TREE));
  assert.ok(page.requests.includes('/python.js.metadata') && page.requests.includes('/python.data'), page.requests.join(' '));
  assert.is(page.xhr, '', 'fetch() was used, not XMLHttpRequest');
});

itBrowser('without fetch(): XMLHttpRequest, with the metadata inlined in the loader', async (context) => {
  const dir = freshDir('browser-xhr');
  writePackage(dir, createPackage(TREE, { name: 'python', inlineMetadata: true }));
  const page = await loadPage(dir, context.build!, '?xhr');
  timings['chromium: xhr, inline'] = page.ms;
  assert.is(page.status, 'exit 0', `status ${page.status}; output:\n${page.out}`);
  assert.equal(parseListing(page.out ?? ''), expectedListing(TREE));
  assert.not.ok(page.requests.includes('/python.js.metadata'), 'no metadata request with inline metadata');
  assert.is(page.xhr, 'python.data', 'the loader fetched the data with XMLHttpRequest');
});

itBrowser('a missing .data (HTTP 404) ends in Module.onAbort with a clear message, not a hang', async (context) => {
  const dir = freshDir('browser-missing');
  writePackage(dir, SEPARATE);
  rmSync(join(dir, 'python.data'));
  const page = await loadPage(dir, context.build!);
  timings['chromium: missing .data'] = page.ms;
  assert.is(page.status, 'abort: pywasm-assets loader: cannot fetch python.data from python.data (HTTP 404 Not Found)');
});

// ---
const upstream = suite('emscripten: the package against file_packager');
const itUpstream = skipEmscripten ? noTest : upstream;

itUpstream("has the same files with the same bytes as Debian's file_packager 3.1.6", () => {
  const out = freshDir('debian');
  writeTree(out, TREE);
  const debian = debianPackage(out);
  // 3.1.6 differs by version, not by content: files in os.walk order (sorted since 3.1.19)
  // and a random package_uuid (written only with --use-preload-cache since 3.1.14).
  assert.type(debian.metadata.package_uuid, 'string');
  assert.is(debian.metadata.remote_package_size, SEPARATE.data.length);
  const ours = slices(SEPARATE.files, SEPARATE.data);
  const theirs = slices(debian.metadata.files, debian.data);
  assert.equal(Object.keys(theirs).sort(), Object.keys(ours).sort());
  assert.equal(theirs, ours);
});

itUpstream('writes metadata byte-identical to upstream 3.1.19+ (its algorithm run by python3)', () => {
  const dir = freshDir('upstream');
  writeTree(dir, TREE);
  assert.is(SEPARATE.metadata, upstreamMetadata(join(dir, 'usr/local'), '/usr/local'));
});

itUpstream('is deterministic: the tree read back from disk packs to identical bytes', () => {
  const dir = freshDir('determinism');
  writeTree(dir, TREE);
  const again = createPackage(
    TREE.slice().reverse().map((f) => ({ path: f.path, data: readFileSync(join(dir, f.path)) })),
    { name: 'python' },
  );
  assert.equal(Buffer.compare(again.data, SEPARATE.data), 0);
  assert.is(again.metadata, SEPARATE.metadata);
  assert.is(again.loader, SEPARATE.loader);
});

upstream.after(() => {
  rmSync(scratch, { recursive: true, force: true });
  timings['all emscripten suites'] = performance.now() - fileStarted;
  if (skipEmscripten) return;
  const lines = Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v)} ms`);
  console.log(`\n  emscripten.test.ts timings: ${lines.join(', ')}`);
});

prejs.run();
modular.run();
browser.run();
upstream.run();
