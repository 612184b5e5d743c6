// Pyodide mode on Pyodide 0.25.1 (CPython 3.11.3), compiled by the machine's native CPython 3.11
// (python3.11, 3.11.2: the same bytecode magic): the drop-in python_stdlib.zip boots that Pyodide in
// Node, loses no module its own zip can import, runs Python (sync and async), and its tracebacks
// name the in-bundle path. Cost: ~5 s compile (cold), two Pyodide boots, ~500 imports each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePython } from './helpers.js';
import { dropInSuite } from './support/dropin.js';
import { PYODIDE } from './support/pyodide.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-dropin-0.25-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const { test } = dropInSuite(PYODIDE['3.11'], tmp, { buildPython: 'python3.11' }, 'native python3.11', havePython() ? '' : 'no python3.11 on PATH');
test.run();
