/**
 * The Pyodide drop-in in a browser: headless Chromium (Debian's chromium) loads a page from
 * 127.0.0.1 that boots Pyodide 0.25.1 (its pyodide.js, served from the installed package) with
 * pywasm-assets' python_stdlib.zip as `stdLibURL`, runs Python and reports the result back.
 * The zip is the README's recipe for servers that serve precompressed files: stored, with
 * `--precompress br,gz`, and this test's server sends the `.br` (or `.gz`) copy with its
 * Content-Encoding when the browser accepts it, as such servers do.
 *
 * What must hold: the page prints the computed result; the modules came from our zip as
 * pycs; no console error, no uncaught error or rejection, no failed request; the stdlib was
 * fetched from our URL only (never Pyodide's own zip).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import { havePython, skip } from './helpers.js';
import { missingChromium, reportingScript, reportServer, runChromium, type Report } from './support/emscripten.js';
import { PYODIDE } from './support/pyodide.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-pyodide-chromium-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const RELEASE = PYODIDE['3.11'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.zip': 'application/zip',
};

interface Served {
  path: string;
  status: number;
  encoding: string;
}

/**
 * Serves `mounts` (URL prefix -> directory) on 127.0.0.1; for a file with a `.br`/`.gz` copy
 * beside it, sends the copy the request's Accept-Encoding allows (br first), as nginx's
 * gzip_static/brotli_static or a CDN would.
 */
async function precompressedServer(mounts: Record<string, string>, page: string) {
  const served: Served[] = [];
  const send = (req: IncomingMessage, res: ServerResponse): void => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const note = (status: number, encoding = 'identity') => served.push({ path: pathname, status, encoding });
    if (pathname === '/' || pathname === '/index.html') {
      note(200);
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }).end(page);
      return;
    }
    const prefix = Object.keys(mounts).find((p) => pathname.startsWith(p));
    const base = prefix && mounts[prefix];
    const file = base && normalize(join(base, pathname.slice(prefix.length)));
    if (!base || !file || !file.startsWith(base + sep) || !existsSync(file)) {
      note(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const accepts = String(req.headers['accept-encoding'] ?? '').split(',').map((e) => e.trim().split(';')[0]);
    const encoding = ['br', 'gzip'].find((e) => accepts.includes(e) && existsSync(file + (e === 'br' ? '.br' : '.gz')));
    const body = readFileSync(encoding ? file + (encoding === 'br' ? '.br' : '.gz') : file);
    note(200, encoding);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      ...(encoding ? { 'content-encoding': encoding, vary: 'accept-encoding' } : {}),
    });
    res.end(body);
  };
  const server = createServer(send);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, served, close: () => new Promise<void>((done) => server.close(() => done())) };
}

// The Python the page runs: a computation over several stdlib packages, and where they came from.
const PROGRAM = `
import json, statistics, decimal, dataclasses, sys

@dataclasses.dataclass
class Point:
    x: decimal.Decimal
    y: decimal.Decimal

points = [Point(decimal.Decimal(i) / 8, decimal.Decimal(i * i) / 8) for i in range(1, 9)]
json.dumps({
    'median_y': str(statistics.median(p.y for p in points)),
    'sum_x': str(sum(p.x for p in points)),
    'json_file': json.__file__,
    'statistics_file': statistics.__file__,
    'version': sys.version.split()[0],
})
`;

function pageHtml(reportUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Pyodide with pywasm-assets' stdlib</title>
<link rel="icon" href="data:,"></head>
<body><pre id="out"></pre>
<script>
  ${reportingScript(reportUrl)}
  var consoleError = console.error;
  console.error = function () {
    lines.push('CONSOLE-ERROR ' + Array.prototype.map.call(arguments, String).join(' '));
    consoleError.apply(console, arguments);
  };
  window.addEventListener('error', function (event) { lines.push('UNCAUGHT ' + event.message); });
  window.addEventListener('unhandledrejection', function (event) { lines.push('UNHANDLED ' + String(event.reason)); });
</script>
<script src="/pyodide/pyodide.js"></script>
<script>
  loadPyodide({ indexURL: '/pyodide/', stdLibURL: '/stdlib/python_stdlib.zip' })
    .then(function (pyodide) {
      var result = pyodide.runPython(${JSON.stringify(PROGRAM)});
      lines.push('RESULT ' + result);
      document.getElementById('out').textContent = result;
      finish('ok');
    })
    .catch(function (error) { finish('error: ' + (error && error.stack || error)); });
</script></body></html>
`;
}

const test = suite(`Pyodide ${RELEASE.release} in headless Chromium with the drop-in zip`);

test('a page on 127.0.0.1 boots Pyodide from our precompressed stored zip and prints the result; no console errors', async () => {
  const why = missingChromium() ?? (havePython() ? null : 'no python3.11 on PATH');
  if (why) return skip(why);
  const out = join(tmp, 'out');
  const result = await pack({
    pyodide: RELEASE.dir,
    buildPython: 'python3.11',
    compression: 'stored',
    precompress: ['br', 'gz'],
    out,
    cacheDir: join(tmp, 'cache'),
  });
  const kinds = result.outputs.map((o) => `${o.kind}:${o.path.slice(out.length + 1)}`).sort();
  assert.equal(kinds, ['precompressed:python_stdlib.zip.br', 'precompressed:python_stdlib.zip.gz', 'zip:python_stdlib.zip']);

  const reports = await reportServer();
  const server = await precompressedServer({ '/pyodide/': RELEASE.dir, '/stdlib/': out }, pageHtml(reports.url));
  let report: Report | undefined;
  try {
    const run = await runChromium(server.url + 'index.html', reports.report.then((r) => (report = r)), 180_000);
    assert.ok(report, `no report from the page within 180 s (timed out: ${run.timedOut}); chromium stderr:\n${run.stderr.slice(-2000)}`);
  } finally {
    await Promise.all([server.close(), reports.close()]);
  }
  const lines = report!.lines;
  assert.is(report!.status, 'ok', lines.join('\n'));
  assert.equal(lines.filter((l) => /^(CONSOLE-ERROR|UNCAUGHT|UNHANDLED) /.test(l)), [], 'console errors');

  const answer = JSON.parse(lines.find((l) => l.startsWith('RESULT '))!.slice('RESULT '.length));
  assert.is(answer.median_y, '2.5625'); // y = i*i/8 for i = 1..8: the median of 16/8 and 25/8
  assert.is(answer.sum_x, '4.500'); // Decimal keeps the quotients' three places
  assert.is(answer.version, RELEASE.python);
  // Imported as pycs from the zip mounted where Pyodide mounts its own.
  assert.is(answer.json_file, `${RELEASE.mountedZip}/json/__init__.pyc`);
  assert.is(answer.statistics_file, `${RELEASE.mountedZip}/statistics.pyc`);

  assert.equal(server.served.filter((s) => s.status !== 200), [], 'failed requests');
  const stdlib = server.served.filter((s) => s.path.endsWith('python_stdlib.zip'));
  assert.equal(stdlib.map((s) => s.path), ['/stdlib/python_stdlib.zip'], "fetched our zip, never Pyodide's own");
  // Chromium offers br to secure contexts (127.0.0.1 is one), gzip elsewhere: either way a precompressed copy went.
  console.log(`  (the zip went ${stdlib[0].encoding})`);
  assert.ok(['br', 'gzip'].includes(stdlib[0].encoding), `the zip was sent ${stdlib[0].encoding}, not precompressed`);
});

test.run();
