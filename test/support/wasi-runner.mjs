// Child process of test/support/wasi.ts: runs python.wasm under Node's built-in WASI
// (preview1), one fresh instance per job, so a trap, a crash or a hang in the interpreter can
// never take the test process down. Plain JavaScript (no tsx) so it starts in ~50 ms.
//
// Protocol (IPC; started by child_process.fork with --expose-gc):
//   parent → child  { id, wasm, root, args, env, stdout, stderr, stdin? }   (the last three: file paths)
//   child → parent  { id, status, error? }
// `status` is the interpreter's exit code, or null when wasi.start() threw (`error` then holds
// the JavaScript error, e.g. "RuntimeError: unreachable" for a wasm trap such as os.abort()).
// The parent names the output files, so it can still read what a run printed before its
// child crashed or was killed at a timeout.
//
// Why it looks like this:
// - The WebAssembly.Module is compiled once per wasm path and instantiated per job: compiling
//   the 21 MB python.wasm costs ~0.2 s; an instance that starts Python and imports a module
//   ~40 ms of CPU once V8 has tiered the shared code up (the first two runs take ~0.5 s).
// - gc() after every job: Node 20.20 segfaults (exit 139, nothing on stderr) after some
//   20-140 WASI instances in one process when dead ones pile up, and also when a gc() every
//   10 instances collects many at once; collecting after each instance kept 300+ instances
//   stable (~14 ms per gc()). The parent retries a job whose child died anyway.
// - node:wasi takes host file descriptors only: each instance writes to its own files.
// - Only `/` is preopened, mapped to `root`: what a user's WASI runtime sees when it runs
//   pywasm-assets' output, so the interpreter must find /usr/local/lib/python311.zip by itself.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const modules = new Map();
const devNull = openSync('/dev/null', 'r');
// Nothing in this process may outlive the parent.
process.on('disconnect', () => process.exit(0));

function compiled(wasm) {
  let mod = modules.get(wasm);
  if (!mod) {
    mod = new WebAssembly.Module(readFileSync(wasm));
    modules.set(wasm, mod);
  }
  return mod;
}

function run(job) {
  const out = openSync(job.stdout, 'w');
  const err = openSync(job.stderr, 'w');
  const input = job.stdin ? openSync(job.stdin, 'r') : devNull;
  try {
    const wasi = new WASI({
      version: 'preview1',
      // argv[0] names no file: getpath then falls back to the compiled-in prefix (/usr/local).
      args: ['python3.11', ...job.args],
      env: job.env,
      preopens: { '/': job.root },
      returnOnExit: true,
      stdin: input,
      stdout: out,
      stderr: err,
    });
    const instance = new WebAssembly.Instance(compiled(job.wasm), wasi.getImportObject());
    return { status: wasi.start(instance) };
  } catch (e) {
    return { status: null, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  } finally {
    closeSync(out);
    closeSync(err);
    if (input !== devNull) closeSync(input);
  }
}

process.on('message', (job) => {
  const result = run(job);
  globalThis.gc?.();
  process.send({ id: job.id, ...result });
});
