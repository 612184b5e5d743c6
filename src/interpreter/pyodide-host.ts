/**
 * A Pyodide distribution as build interpreter: the process CompilerPool
 * starts as `node pyodide-host.js <pyodide dir> [--probe] [--stdlib-cache DIR]`
 * instead of `python worker.py`. It speaks the worker's pipe protocol on
 * stdin/stdout (`4-byte big-endian header length | JSON header | payload`) and
 * answers with src/python/worker.py itself, run inside that Pyodide's CPython
 * (WebAssembly, in this Node process): the same `respond()` the pipe loop
 * calls, so the pycs do not depend on the host (see Reproducibility in
 * worker.py). Everything above the pipe (batching, cache, magic checks) is
 * unchanged.
 *
 * `--probe` answers `info` without starting Pyodide when the distribution
 * states its CPython version (pyodide-lock.json `info.python`, a final
 * release) and the bytecode magic is known (its stdlib's
 * importlib/_bootstrap_external.py up to 3.13, else the final magic of that
 * version): ~0.1 s instead of the ~2.5 s a Pyodide takes to start. The
 * compiling hosts then start the real interpreter, and CompilerPool checks
 * their answer (magic and version) against the probe's. Otherwise the probe
 * starts Pyodide and asks it. With `--stdlib-cache`, the probe also extracts
 * the distribution's python_stdlib.zip (its stdlib as .py sources) once, below
 * DIR, content-addressed and atomically, and answers that directory as
 * `stdlib`: pywasm-assets packs it when no stdlib is given.
 *
 * stdout is the protocol channel: console output and Python's stdout/stderr
 * go to stderr (CompilerPool keeps its tail to explain a crash).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { unzipSync } from 'fflate';
import { extractStdlib, pyodideRelease, STDLIB_ZIP } from '../pyodide/distribution.js';

// Anything printed by accident (Pyodide's own messages, a stray console.log)
// must not corrupt the protocol.
for (const method of ['log', 'info', 'debug', 'warn', 'error'] as const) {
  console[method] = (...args: unknown[]) => void process.stderr.write(format(...args) + '\n');
}

/** Final bytecode magic of each CPython release (Include/internal/pycore_magic_number.h). */
const FINAL_MAGIC: Record<string, number> = { '3.8': 3413, '3.9': 3425, '3.10': 3439, '3.11': 3495, '3.12': 3531, '3.13': 3571, '3.14': 3627 };
const PYTHON_DIR = '/pywasm-assets';

interface Info {
  [key: string]: unknown;
  version: string;
  magic: number;
}

interface Frame {
  header: any;
  payload: Buffer;
}

function fail(message: string, code = 1): never {
  process.stderr.write(`pywasm-assets pyodide-host: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv: string[]): { dir: string; probe: boolean; stdlibCache?: string; xoptions: string[] } {
  const [dir, ...rest] = argv;
  if (!dir) fail('usage: pyodide-host <pyodide dir> [--probe] [--stdlib-cache DIR] [-X OPTION]...', 2);
  let probe = false;
  let stdlibCache: string | undefined;
  const xoptions: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--probe') probe = true;
    else if (rest[i] === '--stdlib-cache' && rest[i + 1]) stdlibCache = path.resolve(rest[++i]);
    else if (rest[i] === '-X' && rest[i + 1]) xoptions.push(rest[++i]);
    else fail(`unknown argument ${JSON.stringify(rest[i])}`, 2);
  }
  return { dir: path.resolve(dir), probe, stdlibCache, xoptions };
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

// --- answering without starting Pyodide -----------------------------------------------

/**
 * The `info` answer from the distribution's files, when they state it: the
 * CPython version in pyodide-lock.json (a final release) and the magic number
 * in the stdlib's importlib/_bootstrap_external.py (to 3.13) or the table.
 */
function staticInfo(dir: string, zip: Buffer | undefined): Info | undefined {
  const python = readJson(path.join(dir, 'pyodide-lock.json'))?.info?.python;
  const m = typeof python === 'string' ? /^(\d+)\.(\d+)\.(\d+)$/.exec(python) : null;
  if (!m || !zip) return undefined;
  const [major, minor, micro] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const name = 'importlib/_bootstrap_external.py';
  let magic: number | undefined;
  try {
    const source = unzipSync(new Uint8Array(zip.buffer, zip.byteOffset, zip.byteLength), { filter: (f) => f.name === name })[name];
    const stated = source && /^MAGIC_NUMBER\s*=\s*\(\s*(\d+)\s*\)\s*\.to_bytes\(/m.exec(Buffer.from(source).toString('utf8'));
    magic = stated ? Number(stated[1]) : FINAL_MAGIC[`${major}.${minor}`];
  } catch {
    return undefined;
  }
  if (magic === undefined) return undefined;
  const magicBytes = Buffer.from([magic & 0xff, magic >> 8, 0x0d, 0x0a]);
  return {
    version: python,
    version_info: [major, minor, micro],
    magic,
    magic_hex: magicBytes.toString('hex'),
    implementation: 'cpython',
    cache_tag: `cpython-${major}${minor}`,
    imports: true,
  };
}

// --- Pyodide ---------------------------------------------------------------

type Respond = (header: any, payload: Buffer) => { text: string; payload: Uint8Array };

/** Starts the distribution's Pyodide and loads worker.py (and imports.py) into it. */
async function startPyodide(dir: string, probe: boolean, xoptions: string[] = []): Promise<Respond> {
  const entry = path.join(dir, 'pyodide.mjs');
  let loadPyodide: (options: Record<string, unknown>) => Promise<any>;
  try {
    ({ loadPyodide } = await import(pathToFileURL(entry).href));
  } catch (error) {
    fail(`cannot load ${entry}: ${String(error)}`);
  }
  if (typeof loadPyodide !== 'function') fail(`${entry} does not export loadPyodide.`);
  const toStderr = (line: string) => void process.stderr.write(line + '\n');
  // A loader that gives up without settling its promise (a damaged pyodide.asm.wasm)
  // leaves nothing to run: Node would exit with code 0.
  const stalled = () => fail(`Pyodide at ${dir} stopped before it was ready (its loader neither finished nor failed).`);
  process.on('beforeExit', stalled);
  let py: any;
  try {
    // Its command line takes the interpreter's -X options as CPython's does.
    const args = xoptions.flatMap((o) => ['-X', o]);
    py = await loadPyodide({ indexURL: dir + path.sep, stdin: () => null, stdout: toStderr, stderr: toStderr, ...(args.length ? { args } : {}) });
  } catch (error) {
    fail(`Pyodide at ${dir} failed to start: ${String(error)}`);
  }
  process.off('beforeExit', stalled);
  // worker.py and imports.py as they are beside this host (src/python or dist/python).
  py.FS.mkdirTree(PYTHON_DIR);
  for (const name of ['worker.py', 'imports.py']) {
    py.FS.writeFile(`${PYTHON_DIR}/${name}`, readFileSync(fileURLToPath(new URL(`./python/${name}`, import.meta.url))));
  }
  const respond = py.runPython(`
import sys
sys.path.insert(0, ${JSON.stringify(PYTHON_DIR)})
import json, worker
worker.setup(${probe ? 'True' : 'False'})

def _pywasm_assets_respond(header_text, payload):
    # payload: a JsProxy of the request's Uint8Array (one copy into WASM memory).
    data = payload.to_bytes() if payload is not None else b""
    return worker.respond(json.loads(header_text), data)

_pywasm_assets_respond
`);
  return (header, payload) => {
    // Pyodide converts a plain Uint8Array, not a Buffer.
    const bytes = payload.length > 0 ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) : undefined;
    const answer = respond(JSON.stringify(header), bytes);
    try {
      const text = String(answer.get(0));
      const pycs = answer.get(1);
      try {
        return { text, payload: pycs.toJs() as Uint8Array };
      } finally {
        pycs.destroy();
      }
    } finally {
      answer.destroy();
    }
  };
}

// --- the pipe --------------------------------------------------------------

function writeFrame(text: string, payload?: Uint8Array): void {
  const json = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length, 0);
  process.stdout.write(payload && payload.length > 0 ? Buffer.concat([head, json, payload]) : Buffer.concat([head, json]));
}

/** Reads frames from stdin; the payload size follows from the header as in worker.py's payload_size(). */
function readFrames(onFrame: (frame: Frame) => void, onEnd: () => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  let header: any;
  let need = 0;
  process.stdin.on('data', (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      if (header === undefined) {
        if (buffered.length < 4) return;
        const size = buffered.readUInt32BE(0);
        if (buffered.length < 4 + size) return;
        try {
          header = JSON.parse(buffered.subarray(4, 4 + size).toString('utf8'));
        } catch {
          fail('malformed request header', 2);
        }
        buffered = buffered.subarray(4 + size);
        need = header?.op === 'compile' && Array.isArray(header.items) ? header.items.reduce((sum: number, item: any) => sum + Number(item.size), 0) : 0;
      }
      if (buffered.length < need) return;
      const payload = buffered.subarray(0, need);
      buffered = buffered.subarray(need);
      const frame = { header, payload };
      header = undefined;
      onFrame(frame);
    }
  });
  process.stdin.on('end', onEnd);
}

async function main(): Promise<void> {
  const { dir, probe, stdlibCache, xoptions } = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(dir, 'pyodide.mjs'))) fail(`${dir} holds no pyodide.mjs.`);
  // The host-side facts every `info` answer carries: the distribution as
  // executable, and its release (which also tells CompilerPool it is a Pyodide).
  const identity = { executable: dir, pyodide: pyodideRelease(dir) ?? 'unknown' };

  let respond: Respond | undefined;
  let info: Info | undefined;
  if (probe) {
    const zipPath = path.join(dir, STDLIB_ZIP);
    const zip = existsSync(zipPath) ? readFileSync(zipPath) : undefined;
    info = staticInfo(dir, zip);
    if (!info) {
      respond = await startPyodide(dir, true);
      info = JSON.parse(respond({ op: 'info' }, Buffer.alloc(0)).text) as Info;
    }
    let stdlib: string | null = null;
    if (stdlibCache && zip) {
      try {
        stdlib = extractStdlib(new Uint8Array(zip.buffer, zip.byteOffset, zip.byteLength), info.version, stdlibCache);
      } catch (error) {
        fail(`cannot extract ${zipPath} below ${stdlibCache}: ${(error as Error).message}`);
      }
    }
    info = { ...info, ...identity, stdlib };
  } else {
    respond = await startPyodide(dir, false, xoptions);
  }

  // Requests are answered in order, one at a time (compiling is synchronous).
  readFrames(
    ({ header, payload }) => {
      if (header?.op === 'info') {
        const answer = info ?? { ...(JSON.parse(respond!({ op: 'info' }, Buffer.alloc(0)).text) as Info), ...identity, stdlib: null };
        writeFrame(JSON.stringify(answer));
        return;
      }
      if (probe || !respond) fail(`unknown op ${JSON.stringify(header?.op)}`, 2);
      let answer: { text: string; payload: Uint8Array };
      try {
        answer = respond(header, payload);
      } catch (error) {
        // A broken request (worker.respond raised): end like worker.py's pipe loop.
        fail(String((error as Error)?.message ?? error), 2);
      }
      writeFrame(answer.text, answer.payload);
    },
    () => process.exit(0),
  );
}

main().catch((error) => fail(String((error as Error)?.stack ?? error)));
