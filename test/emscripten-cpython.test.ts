// CPython's own Emscripten build, proven with its real python.js (issue 15): CPython 3.11.2
// built for Emscripten as its Tools/wasm/README.md says, both targets
// (test/support/build-emscripten-python.sh, ~3 min from cold, once per CI run), then used
// the ways the README tells a user:
// - node target (-sNODERAWFS: the host's real files): `pack --builddir <node build>` picks
//   the node target and writes the tree, no package; python.js copied into <out>/usr/local/bin
//   runs and every shipped module imports. A package loaded into that program refuses, naming
//   the cause and the fix.
// - browser target: python.js re-linked without --preload-file, our package before it, under
//   Node and in headless Chromium (a Web Worker): every shipped module imports. Next to the
//   stock python.js, which preloads CPython's own assets at the same paths, it fails at once
//   with a message that says so.
// Cost: ~40 s re-link (once, cached), ~10 s per runtime pass.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import type { PackResult } from '../src/types.js';
import { skip } from './helpers.js';
import {
  emscriptenBuild,
  importableModules,
  importModulesBrowserNode,
  importModulesChromium,
  importModulesNode,
  installNodePython,
  missingChromium,
  missingEmscriptenPython,
  PACKAGE_NAME,
  relinkBrowserPython,
  runBrowserPythonNode,
  runNodePython,
} from './support/cpython-emscripten.js';
import { cpythonSrcdir } from './support/reference.js';

// Not under the repository: python.js is CommonJS, and the repository's package.json says "type": "module".
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-em-cpython-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const LIB = join(cpythonSrcdir, 'Lib');

function guard(needs: ('browser' | 'node' | 'chromium')[]): string | null {
  const why = missingEmscriptenPython(needs.filter((n): n is 'browser' | 'node' => n !== 'chromium')) ?? (needs.includes('chromium') ? missingChromium() : null);
  if (why && process.env.CI) assert.unreachable(`CI: ${why}`);
  return why;
}

const packs = new Map<string, Promise<PackResult>>();
function packed(name: string, builddir: string, extra: Record<string, unknown> = {}): Promise<PackResult> {
  if (!packs.has(name)) packs.set(name, pack({ builddir, lib: LIB, out: join(tmp, name), cacheDir: join(tmp, 'cache'), ...extra }));
  return packs.get(name)!;
}
const zipOf = (r: PackResult) => r.outputs.find((o) => o.kind === 'zip')!.path;

// ---
const node = suite('CPython 3.11.2, node target (NODERAWFS)');

node('the build root gives target emscripten-node and the tree a NODERAWFS program reads, no package', async () => {
  if (guard(['node'])) return skip(guard(['node'])!);
  const result = await packed('node', emscriptenBuild('node')!.dir);
  assert.is(result.target, 'emscripten-node');
  assert.equal(result.outputs.map((o) => o.kind).sort(), ['lib-dynload', 'os.py', 'zip']);
});

node('used as the README says (python.js in <out>/usr/local/bin), it runs and every shipped module imports', async () => {
  if (guard(['node'])) return skip(guard(['node'])!);
  const result = await packed('node', emscriptenBuild('node')!.dir);
  const js = installNodePython(join(tmp, 'node'));
  const run = await runNodePython(['-c', 'import sys, json; print(sys.prefix, json.__file__)'], { js });
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout.trim(), `${join(tmp, 'node', 'usr/local')} ${join(tmp, 'node', 'usr/local/lib/python311.zip/json/__init__.pyc')}`);
  const modules = importableModules(zipOf(result));
  const report = await importModulesNode(modules, { js });
  console.log(`  node target: ${modules.length} shipped, ${report.ok.length} import`);
  assert.equal(report.failed, []);
  assert.ok(modules.length > 400);
});

node('a package loaded into the NODERAWFS program refuses before it writes anything, naming the cause and the fix', async () => {
  if (guard(['node'])) return skip(guard(['node'])!);
  const build = emscriptenBuild('node')!;
  // A prefix under tmp: were the loader to write, it would write here on the host, not in /usr/local.
  const prefix = join(tmp, 'rawfs-prefix');
  const out = join(tmp, 'node-package');
  await pack({ builddir: build.dir, lib: LIB, out, prefix, target: 'emscripten-node', package: PACKAGE_NAME, cacheDir: join(tmp, 'cache') });
  const run = await runBrowserPythonNode({ js: build.js, wasm: build.wasm }, ['-c', 'pass'], { packages: [{ dir: out }] });
  assert.is.not(run.code, 0);
  assert.match(run.stderr, /pywasm-assets loader: this program reads the host's real files \(it was linked with -sNODERAWFS, as CPython's node target is\)/);
  assert.match(run.stderr, /Pack with --target emscripten-node/);
  let written: string[] = [];
  try {
    written = readdirSync(join(prefix, 'lib'), { recursive: true }) as string[];
  } catch {
    // no directory: nothing written
  }
  assert.equal(written, [], 'the loader wrote onto the host');
});

node.run();

// ---
const browser = suite('CPython 3.11.2, browser target');

let relinked: ReturnType<typeof relinkBrowserPython> | undefined;
const browserPython = () => (relinked ??= relinkBrowserPython());

browser('re-linked without --preload-file (the README\'s make line) and our package before it: every shipped module imports under Node', async () => {
  if (guard(['browser'])) return skip(guard(['browser'])!);
  const result = await packed('browser', emscriptenBuild('browser')!.dir);
  assert.is(result.target, 'emscripten-browser');
  assert.ok(result.outputs.some((o) => o.kind === 'package-loader'));
  const python = await browserPython();
  const modules = importableModules(zipOf(result));
  const report = await importModulesBrowserNode(python, modules, { packages: [{ dir: join(tmp, 'browser') }] });
  console.log(`  browser target, Node: ${modules.length} shipped, ${report.ok.length} import`);
  assert.equal(report.failed, []);
});

browser('the same in headless Chromium (python.js in a Web Worker, served from localhost)', async () => {
  if (guard(['browser', 'chromium'])) return skip(guard(['browser', 'chromium'])!);
  const result = await packed('browser', emscriptenBuild('browser')!.dir);
  const python = await browserPython();
  const modules = importableModules(zipOf(result));
  const report = await importModulesChromium(python, modules, { packages: [{ dir: join(tmp, 'browser') }] });
  console.log(`  browser target, Chromium: ${modules.length} shipped, ${report.ok.length} import`);
  assert.equal(report.failed, []);
});

browser("next to the stock python.js, which preloads CPython's own assets, it fails at once and says why", async () => {
  if (guard(['browser'])) return skip(guard(['browser'])!);
  const build = emscriptenBuild('browser')!;
  await packed('browser', build.dir);
  const started = performance.now();
  const run = await runBrowserPythonNode({ js: build.js, wasm: build.wasm, data: join(build.dir, 'python.data') }, ['-c', 'print("ran")'], { packages: [{ dir: join(tmp, 'browser') }], timeoutMs: 60_000 });
  assert.is.not(run.code, 0);
  assert.not.match(run.stdout, /ran/);
  const message = run.stderr.split("\n").find((l) => l.includes("pywasm-assets loader:")) ?? run.stderr.slice(-2000);
  // Which loader runs first varies; either way the message is ours and says why.
  assert.match(message, /pywasm-assets loader: (cannot create \/usr\/local\/lib\/\S+: it exists already \(EEXIST\)|another package writes \/usr\/local\/lib\/\S+ again after python-stdlib\.data): two packages provide the stdlib at the same paths/, message);
  assert.match(message, /Re-link it without them \(make LINKFORSHARED='-O2 -g0' 'LIBRARY_DEPS=\$\(LIBRARY\) \$\(PY3LIBRARY\)' python\.js\)/);
  assert.ok(performance.now() - started < 30_000);
});

browser.run();

