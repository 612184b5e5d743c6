import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderOmittedHints, type OmittedModule } from '../src/pipeline/omitted-hints/index.js';

const SQLITE: OmittedModule = { module: 'sqlite3', rule: 'ext-sqlite3', reason: 'the _sqlite3 extension module is unavailable' };
const XML: OmittedModule = { module: 'xml', rule: 'ext-pyexpat', reason: 'the pyexpat extension module is unavailable' };
const XML_DOM: OmittedModule = { ...XML, module: 'xml.dom' };
const REQUEST: OmittedModule = { module: 'urllib.request', rule: 'emscripten-network', reason: 'synchronous "network" I/O\nfails' };

/** Runs the rendered hints module in the machine's python3 and returns what `code` prints. */
function runHints(source: string, code: string): string | undefined {
  const script = `${source}\nuninstall()\n${code}\n`;
  const run = spawnSync('python3', ['-I', '-S', '-c', script], { encoding: 'utf8' });
  if (run.error) return undefined; // no python3: the caller skips
  assert.is(run.stderr, '', run.stderr);
  return run.stdout.trim();
}

// ---
const render = suite('renderOmittedHints');

render('returns the hints module and a sitecustomize, sorted by path', () => {
  const out = renderOmittedHints([SQLITE]);
  assert.equal(out.map((m) => m.path), ['_pywasm_assets_hints.py', 'sitecustomize.py']);
  assert.match(out[1].source, 'import _pywasm_assets_hints');
  assert.match(out[1].source, "PYWASM_ASSETS_HINTS");
});

render('is deterministic: input order and duplicates do not change the output', () => {
  const a = renderOmittedHints([SQLITE, XML, REQUEST, XML_DOM]);
  const b = renderOmittedHints([XML_DOM, REQUEST, SQLITE, XML, SQLITE]);
  assert.equal(a, b);
});

render('drops modules inside an omitted package and keeps one table line per module', () => {
  const [hints] = renderOmittedHints([SQLITE, XML, XML_DOM, REQUEST]);
  const table = /^OMITTED = \{\n([\s\S]*?)\n\}$/m.exec(hints.source)?.[1];
  assert.equal(table?.split('\n'), ['    "sqlite3": 2,', '    "urllib.request": 0,', '    "xml": 1,']);
});

render('leaves out names no import statement can spell', () => {
  const [hints] = renderOmittedHints([
    { module: 'site-packages.pip', rule: 'installed-layout', reason: 'not stdlib' },
    { module: '_sysconfigdata__linux_x86_64-linux-gnu', rule: 'installed-layout', reason: 'not stdlib' },
    { module: 'café', rule: 'r', reason: 'non-ASCII identifiers are fine' },
  ]);
  assert.match(hints.source, /^OMITTED = \{\n    "café": 0,\n\}$/m);
  assert.match(hints.source, /^REASONS = \[\n    \("r", "non-ASCII identifiers are fine"\),\n\]$/m);
});

render('renders an empty table for no omissions', () => {
  const [hints] = renderOmittedHints([]);
  assert.match(hints.source, /^OMITTED = \{\}$/m);
  assert.match(hints.source, /^REASONS = \[\]$/m);
});

render('explains a module, its submodules, and nothing else (python3)', () => {
  const [hints] = renderOmittedHints([SQLITE, XML, REQUEST]);
  const out = runHints(
    hints.source,
    `for name in ['sqlite3', 'xml.dom.minidom', 'urllib.request', 'urllib', 'urllib.parse', 'json', None]:\n    print(name, '|', explain(name))`,
  );
  if (out === undefined) return console.log('  skipped: no python3 on PATH');
  assert.equal(out.split('\n'), [
    "sqlite3 | pywasm-assets omitted 'sqlite3' from this bundle (rule ext-sqlite3: the _sqlite3 extension module is unavailable)",
    "xml.dom.minidom | pywasm-assets omitted 'xml' from this bundle (rule ext-pyexpat: the pyexpat extension module is unavailable)",
    `urllib.request | pywasm-assets omitted 'urllib.request' from this bundle (rule emscripten-network: synchronous "network" I/O`,
    'fails)',
    'urllib | None',
    'urllib.parse | None',
    'json | None',
    'None | None',
  ]);
});

render('notes a caught ModuleNotFoundError once, leaves find_spec alone, and uninstalls (python3)', () => {
  const [hints] = renderOmittedHints([{ module: 'no_such_mod', rule: 'r1', reason: 'why' }]);
  const out = runHints(
    hints.source,
    [
      'import importlib.util',
      'install()',
      'try:\n    import no_such_mod\nexcept ImportError as e:\n    print(type(e).__name__, e.__notes__)',
      'try:\n    import no_such_mod.sub\nexcept ImportError as e:\n    print(e.__notes__)',
      'try:\n    import other_missing_mod\nexcept ImportError as e:\n    print(getattr(e, "__notes__", None))',
      'print(importlib.util.find_spec("no_such_mod"))',
      'print(install())',
      'uninstall()',
      'try:\n    import no_such_mod\nexcept ImportError as e:\n    print(getattr(e, "__notes__", None))',
    ].join('\n'),
  );
  if (out === undefined) return console.log('  skipped: no python3 on PATH');
  const note = "pywasm-assets omitted 'no_such_mod' from this bundle (rule r1: why)";
  assert.equal(out.split('\n'), [
    `ModuleNotFoundError ["${note}"]`,
    `["${note}"]`,
    'None',
    'None',
    'True',
    'None',
  ]);
});

render.run();
