// CPython 3.14, proven in a real runtime: no CPython 3.14 source tree or native interpreter is
// reachable here, so the stdlib is Pyodide 314.0.8's own (its python_stdlib.zip, CPython 3.14.2's
// sources trimmed by Pyodide) and the build interpreter is that Pyodide itself
// (--build-python <its package directory>). The suites are test/support/versions.ts's
// pyodideSourcesSuites: packed with the default profile and the facts of
// its real build (the emscripten-3.14 build-root fixture), the zip boots Pyodide 314.0.8, every
// shipped module imports and every omitted one raises ModuleNotFoundError. The embedded
// default (no stdlib, no build facts given) guesses nothing and writes the sysconfigdata.
// Cost: two Pyodide workers start (~4 s each), compile ~450 modules (~5 s), one load (~5 s).
import { pyodideSourcesSuites } from './support/versions.js';

pyodideSourcesSuites('3.14');
