// `--profile cpython` reproduces the omit lists of each version's own wasm_assets.py
// (test/fixtures/reference/published-lists.json: 3.11.2, 3.12.3, 3.13.15, 3.14). For every
// version, target platform and set of available extension modules, the rules must omit
// exactly the paths the published lists name, no more and no fewer, on a tree that holds
// every listed path plus the modules of that version's real stdlib (Pyodide's
// python_stdlib.zip listing). Pure: no interpreter, no runtime. 3.11 and 3.13 are also
// compared with the real scripts' zips in test/reference.test.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { moduleFacts } from '../src/pipeline/build-facts/index.js';
import { applyRules, builtinRuleFiles, loadRules, type RuleContext } from '../src/pipeline/rules.js';
import { REPO } from './helpers.js';

interface Lists {
  always: string[];
  networking: string[];
  modules: Record<string, string[]>;
  before?: Record<string, { networking: string[] }>;
}
const PUBLISHED = JSON.parse(readFileSync(join(REPO, 'test/fixtures/reference/published-lists.json'), 'utf8')) as { versions: Record<string, Lists> };
const RULES = loadRules(builtinRuleFiles());
const require = createRequire(import.meta.url);

/** The Pyodide release whose stdlib listing stands for each version's real module set. */
const PYODIDE: Record<string, string> = { '3.11': 'pyodide', '3.12': 'pyodide-0.27', '3.13': 'pyodide-0.29', '3.14': 'pyodide-314' };

/** The .py paths of a Pyodide release's python_stdlib.zip (no inflating). */
function pyodidePaths(pkg: string): string[] {
  const zip = join(dirname(require.resolve(`${pkg}/package.json`)), 'python_stdlib.zip');
  const names: string[] = [];
  unzipSync(readFileSync(zip), {
    filter(file) {
      if (file.name.endsWith('.py')) names.push(file.name);
      return false;
    },
  });
  return names;
}

/** A tree holding every listed path (a package as its __init__.py and a module) and the real modules. */
function treeFor(version: string, lists: Lists): string[] {
  const paths = new Set(pyodidePaths(PYODIDE[version]).filter((p) => !p.startsWith('_sysconfigdata_')));
  const entries = [...lists.always, ...lists.networking, ...Object.values(lists.modules).flat(), ...Object.values(lists.before ?? {}).flatMap((b) => b.networking)];
  for (const entry of entries) {
    if (entry.endsWith('/')) {
      paths.add(`${entry}__init__.py`);
      paths.add(`${entry}sub.py`);
    } else paths.add(entry);
  }
  // Parents of listed submodules are packages.
  for (const p of [...paths]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) paths.add(`${parts.slice(0, i).join('/')}/__init__.py`);
  }
  return [...paths].sort();
}

/** What the reference omits: an entry names a file, or a package directory and all below it. */
function referenceOmits(paths: string[], lists: Lists, version: string, platform: string, available: (m: string) => boolean): string[] {
  const patch = Number(version.split('.')[2] ?? 0);
  const minor = version.split('.').slice(0, 2).join('.');
  let networking = lists.networking;
  for (const [below, variant] of Object.entries(lists.before ?? {})) if (minor === below.split('.').slice(0, 2).join('.') && patch < Number(below.split('.')[2])) networking = variant.networking;
  const entries = [...lists.always, ...(platform === 'emscripten' ? networking : [])];
  for (const [module, files] of Object.entries(lists.modules)) if (!available(module)) entries.push(...files);
  return paths.filter((p) => entries.some((e) => (e.endsWith('/') ? p.startsWith(e) : p === e)));
}

function packages(paths: string[]): Set<string> {
  return new Set(paths.filter((p) => p.endsWith('/__init__.py')).map((p) => p.slice(0, -'/__init__.py'.length)));
}

/** Scenarios of extension-module availability: the reference's module names, all, none, and every other one. */
function scenarios(lists: Lists): [string, Set<string>][] {
  const names = Object.keys(lists.modules).sort();
  return [
    ['all available', new Set(names)],
    ['none available', new Set()],
    ['every other one available', new Set(names.filter((_, i) => i % 2 === 0))],
  ];
}

const lists = suite('--profile cpython: the published lists of each version');

for (const [minor, patches] of [['3.11', ['3.11.2']], ['3.12', ['3.12.3', '3.12.7']], ['3.13', ['3.13.2', '3.13.7', '3.13.8', '3.13.15']], ['3.14', ['3.14.0', '3.14.2']]] as const) {
  lists(`${minor}: rules omit exactly what its wasm_assets.py omits (${patches.join(', ')}; Emscripten and WASI; three availability sets)`, () => {
    const published = PUBLISHED.versions[minor];
    const paths = treeFor(minor, published);
    for (const version of patches) {
      for (const platform of ['emscripten', 'wasi'] as const) {
        for (const [label, available] of scenarios(published)) {
          const states = Object.fromEntries(Object.keys(published.modules).map((m) => [m, available.has(m) ? 'yes' : 'missing']));
          const ctx: RuleContext = {
            profile: 'cpython',
            version,
            target: platform === 'wasi' ? 'wasi' : 'emscripten-browser',
            platform,
            modules: moduleFacts({ states }),
            factsSource: 'test',
            platformEvidence: `target platform ${platform}`,
            packages: packages(paths),
          };
          const { decisions } = applyRules(paths, RULES, ctx);
          const ours = decisions.filter((d) => d.action === 'omit' && !d.rule?.id.startsWith('structure/')).map((d) => d.path);
          const want = referenceOmits(paths, published, version, platform, (m) => available.has(m));
          const extra = ours.filter((p) => !want.includes(p));
          const missing = want.filter((p) => !ours.includes(p));
          assert.equal([extra, missing], [[], []], `${version} ${platform} ${label}: [omitted by the rules only, omitted by the reference only]`);
        }
      }
    }
  });
}

lists.run();
