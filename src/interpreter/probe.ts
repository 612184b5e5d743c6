/**
 * Asking a build interpreter what it is: `probeInterpreter()` starts it once
 * (python/worker.py --probe) and reads its version, bytecode magic and stdlib
 * into an InterpreterInfo; `prefetchInterpreter()` starts that early, for the
 * CLI's head start (src/cache/prefetch.ts).
 */
import { PackError } from '../errors.js';
import { launchFor, PROBE_TIMEOUT_MS, PYODIDE_TIMEOUT_MS, pyodideHint, pythonHint, workerDigest } from './launch.js';
import { Worker, type Frame } from './worker.js';

/** What `probeInterpreter()` learnt about a build interpreter. */
export interface InterpreterInfo {
  /** The executable as given (a name on PATH or a path). */
  executable: string;
  /** `sys.executable` as the interpreter reports it. */
  resolved: string;
  /** e.g. `3.11.7` */
  version: string;
  versionInfo: [number, number, number];
  /** Bytecode magic number, e.g. 3495 for 3.11 (`importlib.util.MAGIC_NUMBER`, little-endian u16). */
  magic: number;
  /** The 4 magic bytes in hex, e.g. `a70d0d0a`. */
  magicHex: string;
  /** `sys.implementation.name` (always `cpython` once probed). */
  implementation: string;
  /** e.g. `cpython-311` */
  cacheTag: string;
  /**
   * sha256 of the worker scripts (worker.py, imports.py). The pyc bytes and
   * the import lists depend on them, so the cache key includes it.
   */
  workerDigest: string;
  /** The interpreter's own stdlib (`sysconfig.get_paths()['stdlib']`), when it reports one. */
  stdlib?: string;
  /** Working directory the workers run in. */
  cwd?: string;
  /**
   * The Pyodide release when the build interpreter is a Pyodide distribution
   * (`executable` is then its directory), e.g. `0.25.1`.
   */
  pyodide?: string;
}

export interface ProbeOptions {
  /** Working directory of the interpreter (relative paths are resolved against it). @default process.cwd() */
  cwd?: string;
  /**
   * Cache directory: a Pyodide distribution's stdlib is extracted below it
   * (`pyodide-stdlib/`), so that it can be packed as the interpreter's own.
   * @default the pack's default cache directory for `cwd`
   */
  cacheDir?: string;
  /**
   * Milliseconds to wait for the answer; then the interpreter is killed with every
   * process it started (its process group), and the probe fails.
   * @default 30000 (120000 when a Pyodide must start)
   */
  timeout?: number;
}

/** The oldest CPython accepted as a build interpreter. */
const MIN_VERSION: [number, number] = [3, 8];

/** The probe answer (worker.py --probe) as an InterpreterInfo; ERR_PYTHON_VERSION when it is not one. */
function parseInfo(executable: string, header: any, cwd: string | undefined): InterpreterInfo {
  const vi = header?.version_info;
  if (!Array.isArray(vi) || typeof header.magic !== 'number') {
    throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" did not answer like a CPython ${MIN_VERSION.join('.')}+ interpreter.`, pythonHint);
  }
  const pyodide = typeof header.pyodide === 'string' ? header.pyodide : undefined;
  return {
    executable,
    resolved: String(header.executable ?? executable),
    version: String(header.version),
    versionInfo: [vi[0], vi[1], vi[2]],
    magic: header.magic,
    magicHex: String(header.magic_hex),
    implementation: String(header.implementation),
    cacheTag: String(header.cache_tag),
    workerDigest: workerDigest(pyodide),
    stdlib: typeof header.stdlib === 'string' ? header.stdlib : undefined,
    cwd,
    ...(pyodide !== undefined ? { pyodide } : {}),
  };
}

/** Probes started ahead by prefetchInterpreter, by cwd and executable, and when (epoch ms). */
const prefetched = new Map<string, { probing: Promise<InterpreterInfo>; startedAt: number }>();
const probeKey = (executable: string, cwd: string | undefined) => `${cwd ?? process.cwd()}\0${executable}`;

/**
 * Starts probing `executable` now, for a later probeInterpreter() of the same
 * executable and cwd to take the answer: the CLI calls it before loading its
 * modules, so the interpreter's start-up (slow through launchers such as
 * pyenv's shims) overlaps theirs. An answer nobody takes is just dropped.
 */
export function prefetchInterpreter(executable: string, cwd?: string): void {
  const key = probeKey(executable, cwd);
  if (prefetched.has(key)) return;
  const startedAt = Date.now();
  const probing = probeNow(executable, { cwd });
  probing.catch(() => {}); // reported to whoever takes it
  prefetched.set(key, { probing, startedAt });
}

/** When (epoch ms) the probe probeInterpreter() would take for `executable` in `cwd` started: at once, or when it was prefetched. */
export function probeStart(executable: string, cwd?: string): number {
  return prefetched.get(probeKey(executable, cwd))?.startedAt ?? Date.now();
}

/**
 * Starts `executable` once and asks for its version and magic number.
 * Throws ERR_PYTHON_NOT_FOUND when it cannot be started, ERR_PYTHON_VERSION when
 * it is not CPython 3.8 or later.
 *
 * A Pyodide distribution (see pyodideDirOf) is answered from its files when
 * they state the version (pyodide-host.ts), without starting it; its
 * `stdlib` is its python_stdlib.zip extracted below `cacheDir`. (A prefetched
 * answer is taken whatever `cacheDir` says.)
 */
export function probeInterpreter(executable: string, options: ProbeOptions = {}): Promise<InterpreterInfo> {
  const key = probeKey(executable, options.cwd);
  const ahead = prefetched.get(key);
  if (ahead) {
    prefetched.delete(key);
    return ahead.probing;
  }
  return probeNow(executable, options);
}

async function probeNow(executable: string, options: ProbeOptions): Promise<InterpreterInfo> {
  const launch = launchFor(executable, options.cwd, true, options.cacheDir);
  const limit = options.timeout ?? (launch.pyodide ? PYODIDE_TIMEOUT_MS : PROBE_TIMEOUT_MS);
  const worker = new Worker(launch, options.cwd);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new PackError(
          'ERR_PYTHON_VERSION',
          `Build interpreter "${executable}" did not answer within ${limit / 1000} s, so it was killed with every process it started.`,
          launch.pyodide ? pyodideHint : `check that "${executable} -c pass" returns at once (a wrapper script must not wait for anything), or ${pythonHint}`,
        ),
      );
      void worker.kill();
    }, limit);
  });
  let frame: Frame;
  try {
    frame = await Promise.race([worker.request({ op: 'info' }), timeout]);
  } catch (error) {
    await worker.exited;
    if (error instanceof PackError && error.code === 'ERR_PYTHON_WORKER') {
      // It started but died before answering: python2, too old, not Python at all; a broken Pyodide.
      const stderr = worker.stderrText.trim().split('\n').slice(-3).join('\n');
      const what = launch.pyodide ? `(${launch.label}) could not start` : `is not a usable CPython ${MIN_VERSION.join('.')}+`;
      throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" ${what}${stderr ? `:\n${stderr}` : '.'}`, launch.pyodide ? pyodideHint : pythonHint, { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  await worker.close();
  const info = parseInfo(executable, frame.header, options.cwd);
  if (info.implementation !== 'cpython') {
    throw new PackError(
      'ERR_PYTHON_VERSION',
      `Build interpreter "${executable}" is ${info.implementation} ${info.version}; pywasm-assets needs CPython (its pycs are what CPython for WebAssembly loads).`,
      pythonHint,
    );
  }
  const [major, minor] = info.versionInfo;
  if (major !== MIN_VERSION[0] || minor < MIN_VERSION[1]) {
    throw new PackError('ERR_PYTHON_VERSION', `Build interpreter "${executable}" is Python ${info.version}; pywasm-assets needs CPython ${MIN_VERSION.join('.')} or later.`, pythonHint);
  }
  return info;
}
