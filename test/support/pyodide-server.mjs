// Child process of test/support/pyodide-process.ts: loads one Pyodide release with a
// given stdlib zip and answers requests, one JSON object per line both ways:
//   in:  {"id": 1, "code": "...", "async": false}
//   out: {"id": 1, "ok": true, "result": "<str(result)>", "stdout": "...", "stderr": "..."}
//        {"id": 1, "ok": false, "error": "<message>", ...}
// First line out: {"id": 0, "ok": true, "loadMs": N} once loaded (or ok: false with the error).
// Several Pyodide releases cannot share one Node process (their asm.js globals clash),
// hence a process per loaded bundle.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, zip, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || '{}');
let stdout = '';
let stderr = '';
const send = (message) => process.stdout.write(JSON.stringify({ ...message, stdout, stderr }) + '\n', () => {});
const drain = () => {
  stdout = stderr = '';
};

let py;
try {
  const started = performance.now();
  const { loadPyodide } = await import(pathToFileURL(join(dir, 'pyodide.mjs')).href);
  py = await loadPyodide({
    indexURL: dir + '/',
    stdLibURL: zip,
    ...(options.args ? { args: options.args } : {}),
    ...(options.env ? { env: { ...options.env } } : {}),
    stdout: (line) => void (stdout += line + '\n'),
    stderr: (line) => void (stderr += line + '\n'),
  });
  send({ id: 0, ok: true, loadMs: performance.now() - started });
} catch (error) {
  send({ id: 0, ok: false, error: String(error?.stack ?? error) });
  process.exit(1);
}
drain();

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, code, async: isAsync } = JSON.parse(line);
  try {
    const value = isAsync ? await py.runPythonAsync(code) : py.runPython(code);
    const result = value === undefined || value === null ? null : String(value);
    if (value && typeof value.destroy === 'function') value.destroy();
    send({ id, ok: true, result });
  } catch (error) {
    send({ id, ok: false, error: String(error?.message ?? error) });
  }
  drain();
}
