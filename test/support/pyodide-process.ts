/**
 * A Pyodide release in a child process (test/support/pyodide-server.mjs), for tests
 * that load more than one release in a test run: releases cannot share a Node
 * process. Requests run Python and return str() of the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ImportFailure, ImportReport, OmittedReport, PyodideRelease } from './pyodide.js';
import { IMPORT_ALL_PY } from './pyodide.js';

const SERVER = fileURLToPath(new URL('./pyodide-server.mjs', import.meta.url));

export interface RunResult {
  result: string | null;
  stdout: string;
  stderr: string;
}

export class PyodideProcess {
  private next = 1;
  private waiting = new Map<number, { resolve: (m: any) => void; reject: (e: Error) => void }>();
  private exitError: Error | undefined;
  readonly loadMs: Promise<number>;

  private constructor(readonly release: PyodideRelease, private readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    lines.on('line', (line) => {
      const message = JSON.parse(line);
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.exitError = new Error(`Pyodide ${release.release} process ended (${signal ?? code}): ${stderr}`);
      for (const w of this.waiting.values()) w.reject(this.exitError);
      this.waiting.clear();
    });
    this.loadMs = new Promise((resolve, reject) => {
      this.waiting.set(0, {
        resolve: (m) => (m.ok ? resolve(m.loadMs) : reject(new Error(`Pyodide ${release.release} did not load: ${m.error}\n${m.stderr}`))),
        reject,
      });
    });
  }

  /** Starts Pyodide `release` with `zip` as its stdlib; await `loadMs` to know it booted. */
  static start(release: PyodideRelease, zip: string, options: { args?: string[]; env?: Record<string, string> } = {}): PyodideProcess {
    const child = spawn(process.execPath, [SERVER, release.dir, zip, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new PyodideProcess(release, child);
  }

  private request(code: string, isAsync: boolean): Promise<any> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin!.write(JSON.stringify({ id, code, async: isAsync }) + '\n');
    });
  }

  /** Runs Python; rejects with the Python error's message. */
  async run(code: string, options: { async?: boolean } = {}): Promise<RunResult> {
    await this.loadMs;
    const m = await this.request(code, options.async ?? false);
    if (!m.ok) throw Object.assign(new Error(m.error), { stdout: m.stdout, stderr: m.stderr });
    return { result: m.result, stdout: m.stdout, stderr: m.stderr };
  }

  /** Imports each module (in order) in this interpreter; see importAll in pyodide.ts. */
  async importAll(modules: string[]): Promise<ImportReport> {
    const { result } = await this.run(`${IMPORT_ALL_PY}\nimport json as _j\n_pywasm_assets_import_all(_j.loads(${JSON.stringify(JSON.stringify(modules))}))`);
    const report = JSON.parse(result!) as ImportReport;
    for (const f of report.failed) if (f.name == null) delete f.name;
    return report;
  }

  /** Imports every omitted module; each must raise ModuleNotFoundError (frozen ones are reported apart). */
  async importOmitted(modules: string[]): Promise<OmittedReport> {
    const { result } = await this.run(`import _imp, json\njson.dumps([m for m in json.loads(${JSON.stringify(JSON.stringify(modules))}) if _imp.is_frozen(m)])`);
    const frozen = JSON.parse(result!) as string[];
    const report = await this.importAll(modules.filter((m) => !frozen.includes(m)));
    return {
      missing: report.failed.filter((f) => f.type === 'ModuleNotFoundError').map((f) => f.module),
      frozen,
      wrong: [
        ...report.ok.map((module): ImportFailure => ({ module, type: '(imported)', message: 'an omitted module imported' })),
        ...report.failed.filter((f) => f.type !== 'ModuleNotFoundError'),
      ].sort((a, b) => (a.module < b.module ? -1 : 1)),
    };
  }

  close(): void {
    this.child.stdin!.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}
