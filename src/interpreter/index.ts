/**
 * The build interpreter: the only part of pywasm-assets that starts processes.
 *
 * `probeInterpreter()` asks a Python once for its version and bytecode magic;
 * `CompilerPool` keeps N workers (python/worker.py) alive for a run and
 * feeds them batches of raw source bytes over their stdin/stdout pipes. The
 * framing both ways is `4-byte big-endian header length | JSON header | payload`.
 *
 * A build interpreter is a CPython executable, or a Pyodide distribution: a
 * directory holding `pyodide.mjs` (the npm package `pyodide`). Its workers are
 * Node processes running pyodide-host.ts, which runs the same worker.py
 * inside that WebAssembly CPython and speaks the same protocol.
 *
 * magic.ts     magic numbers: which Python a .pyc is for, and the version check
 * launch.ts    how an executable or a Pyodide directory becomes a command line
 * worker.ts    one worker process and the framing of its pipes
 * probe.ts     probeInterpreter / prefetchInterpreter → InterpreterInfo
 * pool.ts      CompilerPool: the workers of a run and the batches they compile
 */
export { checkMagic, pythonVersionForMagic, readMagicFromLib } from './magic.js';
export { pyodideDirOf, workerScript } from './launch.js';
export { prefetchInterpreter, probeInterpreter, probeStart, type InterpreterInfo, type ProbeOptions } from './probe.js';
export { CompilerPool, type CompileError, type CompileItem, type CompileOutcome, type CompilerPoolOptions, type CompileSettings } from './pool.js';
