/**
 * Real-runtime proof harness for the file_packager package: builds the test C
 * program (test/fixtures/emscripten/list-files.c) with Debian's emcc 3.1.6,
 * runs it under Node.js with a timeout, serves a directory on localhost and
 * loads a page in headless Chromium.
 *
 * Builds are cached in .cache/emscripten-test/<key>/, the key being a hash of
 * the C source, the flags, the pre-js text and emcc's version: a rerun costs
 * no compilation. Debian's emcc links against its prebuilt system libraries in
 * /usr/share/emscripten/cache (FROZEN_CACHE = True in /usr/share/emscripten/.emscripten),
 * so EM_CACHE is left alone: pointing it at an empty directory would make emcc
 * try, and refuse, to build them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(root, 'test', 'fixtures', 'emscripten');
export const cacheDir = join(root, '.cache', 'emscripten-test');
export const EMCC = '/usr/bin/emcc';
export const CHROMIUM = '/usr/bin/chromium';
/** Debian's file_packager 3.1.6 (not on PATH; runs with the system's python3 and Debian's config). */
export const DEBIAN_FILE_PACKAGER = '/usr/share/emscripten/tools/file_packager.py';

/** Why the Emscripten tests cannot run here, or null when they can. */
export function missingEmscripten(): string | null {
  if (!existsSync(EMCC)) return `${EMCC} not found (apt-get install -y emscripten)`;
  if (!existsSync(DEBIAN_FILE_PACKAGER)) return `${DEBIAN_FILE_PACKAGER} not found`;
  return null;
}

export function missingChromium(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install -y chromium)`;
}

/**
 * The three builds the tests use:
 * - `prejs`: the package loader linked in with `--pre-js` (Node.js);
 * - `modular`: `-sMODULARIZE=1`, -O1; a harness evaluates the loader with `Module`
 *   in scope and calls the factory with that object (Node.js); exports callMain
 *   so a harness can load the package after the runtime has started;
 * - `web`: plain build for a page that includes the loader in a `<script>` before
 *   the runtime (asynchronous Wasm compilation: synchronous XHR cannot fetch
 *   binaries on a page).
 */
export type Variant = 'prejs' | 'modular' | 'web';

function flagsFor(variant: Variant, preJs: string | undefined): string[] {
  // Node 20 has fetch(), which 3.1.6 would use for the .wasm: compile synchronously (REFERENCE.md §2).
  const common = ['-sFORCE_FILESYSTEM=1', '-sEXIT_RUNTIME=1'];
  switch (variant) {
    case 'prejs':
      return [...common, '-sWASM_ASYNC_COMPILATION=0', '--pre-js', preJs!];
    case 'modular':
      return [
        ...common,
        '-O1',
        '-sWASM_ASYNC_COMPILATION=0',
        '-sMODULARIZE=1',
        '-sEXPORT_NAME=createListFiles',
        '-sEXPORTED_RUNTIME_METHODS=callMain',
      ];
    case 'web':
      return [...common, '-sENVIRONMENT=web'];
  }
}

let emccVersion: string | undefined;

/** Debian's version file (instant); `emcc --version` costs a Python start-up (~0.6 s). */
function emscriptenVersion(): string {
  try {
    return readFileSync('/usr/share/emscripten/emscripten-version.txt', 'utf8').trim();
  } catch {
    return spawnSync(EMCC, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  }
}

export interface Build {
  /** The runtime's .js (its .wasm sits next to it). */
  js: string;
  wasm: string;
  /** Whether this call compiled (false: cache hit). */
  compiled: boolean;
  ms: number;
}

/**
 * Builds list-files.c once per (source, variant, pre-js) and caches the result.
 * `preJs` is the loader text for the `prejs` variant.
 */
export async function buildProgram(variant: Variant, preJs?: string): Promise<Build> {
  const started = performance.now();
  const source = join(fixtures, 'list-files.c');
  emccVersion ??= emscriptenVersion();
  const hash = createHash('sha256')
    .update(readFileSync(source))
    .update('\0' + variant + '\0' + emccVersion + '\0' + (preJs ?? ''))
    .update(JSON.stringify(flagsFor(variant, 'PRE.js')))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, `${variant}-${hash}`);
  const js = join(dir, 'list-files.js');
  const wasm = join(dir, 'list-files.wasm');
  if (existsSync(js) && existsSync(wasm)) return { js, wasm, compiled: false, ms: performance.now() - started };

  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, `.build-${variant}-`));
  try {
    let preJsPath: string | undefined;
    if (preJs !== undefined) {
      preJsPath = join(work, 'loader.js');
      writeFileSync(preJsPath, preJs);
    }
    const result = await run(EMCC, [source, '-o', join(work, 'list-files.js'), ...flagsFor(variant, preJsPath)], {
      cwd: work,
      timeoutMs: 180_000,
      // -O1 and above run emcc's JS tools, which need Debian's node modules (acorn).
      env: { ...process.env, NODE_PATH: '/usr/share/nodejs', EMCC_SKIP_SANITY_CHECK: '1' },
    });
    if (result.code !== 0) {
      throw new Error(`emcc failed (${variant}, exit ${result.code}):\n${result.stderr}${result.stdout}`);
    }
    if (preJsPath) rmSync(preJsPath);
    // Publish atomically: a half-written build never looks like a cache hit.
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
    // Older builds of this variant (an earlier loader or source) are dead weight.
    for (const entry of readdirSync(cacheDir)) {
      if (entry.startsWith(`${variant}-`) && entry !== `${variant}-${hash}`) {
        rmSync(join(cacheDir, entry), { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { js, wasm, compiled: true, ms: performance.now() - started };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Spawns a command (asynchronously: a server in this process keeps answering) and kills it after `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - started });
    });
  });
}

/** Runs a script with this Node.js (20 s timeout unless told). */
export function runNode(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, args, { cwd: options.cwd, timeoutMs: options.timeoutMs ?? 20_000 });
}

/** Copies a build's .js and .wasm into `dir` (the pre-js loader finds the package next to the script). */
export function installBuild(build: Build, dir: string, name = 'list-files'): string {
  writeFileSync(join(dir, `${name}.js`), readFileSync(build.js));
  writeFileSync(join(dir, `${name}.wasm`), readFileSync(build.wasm));
  return join(dir, `${name}.js`);
}

// ---

export interface Served {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.data': 'application/octet-stream',
  '.metadata': 'application/json',
};

/** A static file server for `dir` on 127.0.0.1 (random port). */
export async function serveDir(dir: string): Promise<Served> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(pathname);
    const file = normalize(join(dir, pathname));
    if (!file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Headless Chromium's flags, from the machine notes: no background networking (this
 * machine's network is closed), a fresh profile each run, no sandbox as root.
 */
const chromiumFlags = (profile: string) => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  `--user-data-dir=${profile}`,
];

/**
 * Loads `url` in headless Chromium and returns the DOM once the page is done
 * (`--virtual-time-budget` lets the page run until it is idle, network included).
 */
export async function dumpDom(url: string, timeoutMs = 30_000): Promise<RunResult & { dom: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'pywasm-chromium-'));
  try {
    const result = await run(
      CHROMIUM,
      [
        ...chromiumFlags(profile),
        '--virtual-time-budget=15000',
        '--dump-dom',
        url,
      ],
      { timeoutMs },
    );
    return { ...result, dom: result.stdout };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Text of the element with `id` in a dumped DOM (entities decoded), or undefined. */
export function elementText(dom: string, id: string): string | undefined {
  const match = new RegExp(`<[a-z]+ id="${id}">([\\s\\S]*?)</[a-z]+>`).exec(dom);
  if (!match) return undefined;
  return match[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

// ---

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib), the checksum list-files.c prints. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `F <path> <size> <crc>` lines for files, sorted: what list-files.c must print. */
export function expectedListing(files: { path: string; data: Uint8Array }[]): string[] {
  return files
    .map((f) => `F ${f.path} ${f.data.length} ${crc32(f.data).toString(16).padStart(8, '0')}`)
    .sort();
}

/** The `F` lines of list-files.c's output, sorted; throws unless it ended with `END <n>`. */
export function parseListing(stdout: string): string[] {
  const lines = stdout.split('\n').filter(Boolean);
  const files = lines.filter((l) => l.startsWith('F ')).sort();
  const end = lines.find((l) => l.startsWith('END '));
  if (end !== `END ${files.length}`) {
    throw new Error(`list-files.c did not finish cleanly:\n${stdout}`);
  }
  return files;
}

// --- pages that report back ----------------------------------------------------------------------

export interface Report {
  status: string;
  lines: string[];
}

/**
 * The page side of a report: `lines` to push output to, and `finish(status)`, which shows the
 * lines in `#out` and POSTs `{ status, lines }` to `reportUrl` once.
 */
export function reportingScript(reportUrl: string): string {
  return `var lines = [];
  var done = false;
  function finish(status) {
    if (done) return;
    done = true;
    document.getElementById('out').textContent = lines.join('\\n');
    fetch(${JSON.stringify(reportUrl)}, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ status: status, lines: lines }) });
  }`;
}

/** A server on 127.0.0.1 that takes one POSTed report (see reportingScript). */
export async function reportServer(): Promise<{ url: string; report: Promise<Report>; close(): Promise<void> }> {
  let deliver!: (report: Report) => void;
  const report = new Promise<Report>((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.writeHead(204, { 'access-control-allow-origin': '*' }).end();
      try {
        deliver(JSON.parse(body) as Report);
      } catch {
        deliver({ status: `error: unreadable report (${body.length} bytes)`, lines: [] });
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    report,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/**
 * Headless Chromium on `url` until `until` settles or `timeoutMs` passes; then its process group
 * is killed. The page reports with `reportingScript`.
 */
export async function runChromium(url: string, until: Promise<unknown>, timeoutMs: number): Promise<RunResult> {
  const profile = mkdtempSync(join(tmpdir(), 'pywasm-chromium-'));
  const started = performance.now();
  const child = spawn(
    CHROMIUM,
    [
      ...chromiumFlags(profile),
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    until.then(() => 'done' as const),
    closed.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'exited') {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  const { code, signal } = await closed;
  rmSync(profile, { recursive: true, force: true });
  return { code, signal, stdout, stderr, timedOut: outcome === 'timeout', ms: performance.now() - started };
}
