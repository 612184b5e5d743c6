// rules/builtins/<version>.json against the real interpreter of each version (the Pyodide
// release of that version, CPython on Emscripten): the stdlib's module names are its
// sys.stdlib_module_names (plus `test`), every module the data calls built in or frozen
// exists in it without a file, and the extension modules with a build state are those its
// sysconfigdata states. 3.11 and 3.13 are also derived from real source trees
// (test/imports.test.ts); 3.12 and 3.14 were assembled from public sources and this
// interpreter, so this is their check. Cost: four Pyodide loads in parallel, ~10 s.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuiltinsData } from '../src/analysis/graph.js';
import { REPO } from './helpers.js';
import { PYODIDE } from './support/pyodide.js';
import { PyodideProcess } from './support/pyodide-process.js';

const PROBE = `
import sys, _imp, json, sysconfig
states = sorted(k[7:-6].lower() for k in sysconfig.get_config_vars() if k.startswith('MODULE_') and k.endswith('_STATE'))
json.dumps({'stdlib': sorted(sys.stdlib_module_names), 'builtin': sorted(sys.builtin_module_names),
            'frozen': sorted(_imp._frozen_module_names()), 'states': states})
`;

const versions = suite('rules/builtins/<version>.json: the real interpreter of each version');

const running = new Map<string, Promise<{ stdlib: string[]; builtin: string[]; frozen: string[]; states: string[] }>>();
function probe(version: keyof typeof PYODIDE) {
  if (!running.has(version)) {
    const release = PYODIDE[version];
    const py = PyodideProcess.start(release, release.stdlibZip);
    running.set(version, py.run(PROBE).then((r) => JSON.parse(r.result!)).finally(() => py.close()));
  }
  return running.get(version)!;
}

for (const version of ['3.11', '3.12', '3.13', '3.14'] as const) {
  versions(`${version}: module names, built-ins, frozen modules and stated extensions agree with Pyodide ${PYODIDE[version].release} (CPython ${PYODIDE[version].python})`, async () => {
    for (const v of ['3.11', '3.12', '3.13', '3.14'] as const) probe(v); // all four load at once
    const real = await probe(version);
    const data = JSON.parse(readFileSync(join(REPO, `rules/builtins/${version}.json`), 'utf8')) as BuiltinsData;
    assert.is(data.version, version);
    assert.equal(data.stdlibModules, [...real.stdlib, 'test'].sort());
    const present = new Set([...real.builtin, ...real.frozen]);
    assert.equal(data.builtin.filter((m) => !present.has(m)), [], 'built-in modules the interpreter does not have');
    assert.equal(data.frozen.filter((m) => m !== 'os.path' && !real.frozen.includes(m)), [], 'frozen modules the interpreter does not have');
    assert.equal(data.stdlibExtensions, real.states);
  });
}

versions.run();
