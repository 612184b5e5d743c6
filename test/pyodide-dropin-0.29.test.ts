// Pyodide mode on Pyodide 0.29.5 (CPython 3.13.2), compiled by a native CPython 3.13.15 (same
// bytecode magic): the drop-in python_stdlib.zip boots that Pyodide in Node, loses no module its
// own zip can import, runs Python (sync and async), and its tracebacks name the in-bundle path;
// with --sources both they show the code lines too. Needs .cache/python-3.13.15
// (test/support/build-native-python.sh 3.13.15); under CI a missing one fails.
// Cost: ~8 s compile (cold), three Pyodide boots, ~530 imports in two of them.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO, skip } from './helpers.js';
import { dropInSuite } from './support/dropin.js';
import { PYODIDE } from './support/pyodide.js';
import { PyodideProcess } from './support/pyodide-process.js';
import { pack } from '../src/index.js';

const PYTHON = join(REPO, '.cache/python-3.13.15/bin/python3.13');
const missing = existsSync(PYTHON) ? '' : `no native CPython 3.13.15 at ${PYTHON} (bash test/support/build-native-python.sh 3.13.15)`;
const tmp = mkdtempSync(join(tmpdir(), 'pywasm-assets-dropin-0.29-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const release = PYODIDE['3.13'];
const { test } = dropInSuite(release, tmp, { buildPython: PYTHON }, 'native CPython 3.13.15', missing);

test('--sources both: tracebacks show the code lines (from the .py beside each .pyc), with column carets', async () => {
  if (missing) return skip(missing);
  const result = await pack({ pyodide: release.dir, buildPython: PYTHON, sources: 'both', out: join(tmp, 'both'), cacheDir: join(tmp, 'cache') });
  const py = PyodideProcess.start(release, result.outputs[0].path);
  try {
    await py.loadMs;
    const tb = (await py.run('import json, traceback\ntry:\n    json.loads("[")\nexcept ValueError:\n    tb = traceback.format_exc()\ntb')).result!;
    assert.match(tb, /File "\/lib\/python313\.zip\/json\/decoder\.py", line \d+, in raw_decode\n\s+raise JSONDecodeError\("Expecting value", s, err\.value\) from None/);
    assert.match(tb, /return _default_decoder\.decode\(s\)\n\s+~+\^+/, 'column carets: pycs with sources keep their debug ranges');
  } finally {
    py.close();
  }
});

test.run();
