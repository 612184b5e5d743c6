/**
 * Runtime proof harness: loads a stdlib zip into a real Pyodide (CPython on
 * Emscripten, running in Node) and imports modules inside WASM. One release per
 * CPython version (devDependencies): 0.25.1 (3.11.3), 0.27.7 (3.12.7),
 * 0.29.5 (3.13.2), 314.0.8 (3.14.2).
 *
 * Pyodide mounts the zip given as `stdLibURL` at /lib/python3XY.zip and puts it
 * on sys.path; its bootstrap imports `_pyodide`, `pyodide` and the Emscripten
 * sysconfigdata from there, so a bundle must carry them (pack `add`).
 * Loading costs 2-5 s on a 2-core machine: load once per test file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import type { PyodideInterface } from 'pyodide';

const require = createRequire(import.meta.url);

export interface PyodideRelease {
  /** The npm package name it is installed under (an alias for all but 0.25.1). */
  pkg: string;
  /** Pyodide's version. */
  release: string;
  /** The CPython it runs (`3.13.2`). */
  python: string;
  /** The installed package's directory (pyodide.mjs, pyodide.asm.wasm, python_stdlib.zip). */
  dir: string;
  /** Its own stdlib zip: the source of `_pyodide/`, `pyodide/` and its sysconfigdata. */
  stdlibZip: string;
  /** Where it mounts the zip passed as `stdLibURL` (and where co_filenames must point). */
  mountedZip: string;
}

function release(pkg: string, version: string, python: string): PyodideRelease {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const nodot = python.split('.').slice(0, 2).join('');
  return { pkg, release: version, python, dir, stdlibZip: join(dir, 'python_stdlib.zip'), mountedZip: `/lib/python${nodot}.zip` };
}

/** The Pyodide release of each CPython minor version. */
export const PYODIDE: Record<'3.11' | '3.12' | '3.13' | '3.14', PyodideRelease> = {
  '3.11': release('pyodide', '0.25.1', '3.11.3'),
  '3.12': release('pyodide-0.27', '0.27.7', '3.12.7'),
  '3.13': release('pyodide-0.29', '0.29.5', '3.13.2'),
  '3.14': release('pyodide-314', '314.0.8', '3.14.2'),
};

/** Directory of the installed `pyodide` 0.25.1 package (holds pyodide.asm.wasm, python_stdlib.zip). */
export const pyodideDir = PYODIDE['3.11'].dir;
/** Pyodide 0.25.1's own stdlib zip: validates the harness and is the source of `_pyodide/`, `pyodide/`. */
export const pyodideStdlibZip = PYODIDE['3.11'].stdlibZip;
/** Where Pyodide 0.25.1 mounts the zip passed as `stdLibURL` (and where its co_filenames must point). */
export const MOUNTED_ZIP = PYODIDE['3.11'].mountedZip;

export interface Bundle {
  py: PyodideInterface;
  /** Milliseconds `loadPyodide` took. */
  loadMs: number;
  /** Everything Python wrote to stdout / stderr since the last `drain()`. */
  drain(): { stdout: string; stderr: string };
}

export interface LoadOptions {
  /** Interpreter command line, e.g. ['-S'] to skip `site`. */
  args?: string[];
  env?: Record<string, string>;
  /** The Pyodide to load. @default PYODIDE['3.11'] (0.25.1) */
  pyodide?: PyodideRelease;
}

/** Loads a Pyodide with `zipPath` as its stdlib. Output is captured, not printed. */
export async function loadBundle(zipPath: string, options: LoadOptions = {}): Promise<Bundle> {
  const pyodide = options.pyodide ?? PYODIDE['3.11'];
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const { loadPyodide } = (await import(pathToFileURL(join(pyodide.dir, 'pyodide.mjs')).href)) as { loadPyodide: (config: object) => Promise<PyodideInterface> };
  const py = await loadPyodide({
    indexURL: pyodide.dir + '/',
    stdLibURL: zipPath,
    // loadPyodide merges with Object.assign: an explicit `undefined` would erase its defaults.
    ...(options.args ? { args: options.args } : {}),
    ...(options.env ? { env: { ...options.env } } : {}),
    stdout: (line: string) => void (stdout += line + '\n'),
    stderr: (line: string) => void (stderr += line + '\n'),
  });
  const loadMs = performance.now() - started;
  return {
    py,
    loadMs,
    drain() {
      const out = { stdout, stderr };
      stdout = stderr = '';
      return out;
    },
  };
}

/**
 * Modules the import check never imports, with why. `__main__` modules (any
 * `*.__main__`) are skipped as well: importing them runs a program.
 */
export const IMPORT_SKIPS: Record<string, string> = {
  'idlelib.idle': 'starts the IDLE GUI at import (calls idlelib.pyshell.main())',
  'test.autotest': 'runs the whole regression test suite at import',
  antigravity: 'opens a web browser at import',
  this: 'prints the Zen of Python at import (harmless, but noise)',
};

export function isSkipped(module: string): boolean {
  return module in IMPORT_SKIPS || module === '__main__' || module.endsWith('.__main__');
}

export interface ImportFailure {
  module: string;
  /** Exception class name, e.g. 'ModuleNotFoundError'. */
  type: string;
  message: string;
  /** For ImportError: `exc.name`; for a ModuleNotFoundError, the module that could not be found. */
  name?: string;
}

export interface ImportReport {
  ok: string[];
  failed: ImportFailure[];
}

// Each import runs in its own try. A failure is recorded with its type and
// message; BaseException is caught too (SystemExit from a module that exits).
// A module that failed is dropped from sys.modules by the import system, so a
// later import retries it instead of seeing a half-initialised module.
export const IMPORT_ALL_PY = `
import importlib, json, re, warnings
def _pywasm_assets_import_all(names):
    ok, failed = [], []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                importlib.import_module(name)
        except BaseException as exc:
            missing = getattr(exc, 'name', None)
            if missing is None and isinstance(exc, ModuleNotFoundError):
                # Pyodide rewrites stdlib ModuleNotFoundErrors without name=.
                found = re.search(r"(?:No module named|The module) '([^']+)'", str(exc))
                missing = found and found.group(1)
            failed.append({'module': name, 'type': type(exc).__name__, 'message': str(exc),
                           'name': missing})
        else:
            ok.append(name)
    return json.dumps({'ok': ok, 'failed': failed})
_pywasm_assets_import_all
`;

/** Imports each module (in order) inside WASM; see IMPORT_SKIPS for what callers should filter out. */
export function importAll(py: PyodideInterface, modules: string[]): ImportReport {
  const fn = py.runPython(IMPORT_ALL_PY);
  try {
    const report = JSON.parse(fn(modules) as string) as ImportReport;
    for (const f of report.failed) if (f.name == null) delete f.name;
    return report;
  } finally {
    fn.destroy();
  }
}

/** Zip-relative path of a module file → dotted module name, or undefined if it is not one. */
export function moduleName(path: string): string | undefined {
  const m = /^(.*)\.py$/.exec(path);
  if (!m) return undefined;
  const parts = m[1].split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  if (parts.length === 0 || !parts.every((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) return undefined;
  return parts.join('.');
}

/** Dotted names of the modules in a zip (from .py and .pyc entries), sorted. */
export function zipModules(zipPath: string): string[] {
  const names = new Set<string>();
  // The filter sees every entry; rejecting all of them lists names without inflating.
  unzipSync(readFileSync(zipPath), {
    filter(file) {
      const name = moduleName(file.name.replace(/\.pyc$/, '.py'));
      if (name) names.add(name);
      return false;
    },
  });
  return [...names].sort();
}

export interface OmittedReport {
  /** Raised ModuleNotFoundError, as an omitted module should. */
  missing: string[];
  /**
   * Frozen into the interpreter (CPython 3.11 freezes `__hello__`, `__phello__`
   * and the startup modules), so omitting the file cannot remove them.
   */
  frozen: string[];
  /** Imported, or failed with another exception: the check fails on these. */
  wrong: ImportFailure[];
}

/**
 * Imports every omitted module; each must raise ModuleNotFoundError. Give the
 * outermost names only (`outermostModules`): an import of `xml.dom` fails on `xml`.
 */
export function importOmitted(py: PyodideInterface, modules: string[]): OmittedReport {
  const isFrozen = py.runPython('import _imp; _imp.is_frozen');
  let frozen: string[];
  try {
    frozen = modules.filter((m) => isFrozen(m) === true);
  } finally {
    isFrozen.destroy();
  }
  const report = importAll(py, modules.filter((m) => !frozen.includes(m)));
  return {
    missing: report.failed.filter((f) => f.type === 'ModuleNotFoundError').map((f) => f.module),
    frozen,
    wrong: [
      ...report.ok.map((module) => ({ module, type: '(imported)', message: 'an omitted module imported' })),
      ...report.failed.filter((f) => f.type !== 'ModuleNotFoundError'),
    ].sort((a, b) => (a.module < b.module ? -1 : 1)),
  };
}

/** Drops every name whose parent package is also in `modules`; sorted, deduplicated. */
export function outermostModules(modules: Iterable<string>): string[] {
  const all = new Set(modules);
  return [...all]
    .filter((m) => {
      for (let dot = m.indexOf('.'); dot > 0; dot = m.indexOf('.', dot + 1)) if (all.has(m.slice(0, dot))) return false;
      return true;
    })
    .sort();
}
