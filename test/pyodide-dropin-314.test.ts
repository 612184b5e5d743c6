// Pyodide mode on Pyodide 314.0.8 (CPython 3.14.2), compiled by that Pyodide itself (no native
// CPython 3.14 here): the drop-in python_stdlib.zip boots that Pyodide in Node, loses no module
// its own zip can import, runs Python (sync and async), and its tracebacks name the in-bundle
// path. Cost: ~25 s compile in WebAssembly (cold), two Pyodide boots, ~550 imports each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropInSuite } from './support/dropin.js';
import { PYODIDE } from './support/pyodide.js';

const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-dropin-314-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const { test } = dropInSuite(PYODIDE['3.14'], tmp, {}, 'Pyodide 314.0.8 itself');
test.run();
