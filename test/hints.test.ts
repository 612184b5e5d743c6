import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from '../src/index.js';
import { renderOmittedHints, type OmittedModule } from '../src/pipeline/omitted-hints/index.js';
import { HAS_PYTHON3, makeTmp, PYTHON3, rmTmp, SMALL_LIB, writeTree } from './fixtures/errors/support.js';

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

// ---
// Issue 13: a distribution's layout. Debian's lib/python3.X holds sitecustomize.py (a link
// into /etc that installs apport), _distutils_system_mod.py and EXTERNALLY-MANAGED: the
// host's configuration, omitted by rule host-config, so --omitted-hints can add its own.
const distro = suite('pack --omitted-hints on a distribution layout (rule host-config)');

const PY = PYTHON3 ?? 'python3';

distro('a stdlib with Debian\'s host files: they are omitted by host-config and --omitted-hints ships its own sitecustomize', async () => {
  if (!HAS_PYTHON3) return console.log('  skipped: no python3 (3.8+) here');
  const top = makeTmp();
  try {
    const lib = writeTree(path.join(top, 'Lib'), { ...SMALL_LIB, '_distutils_system_mod.py': 'import os\n', 'EXTERNALLY-MANAGED': '[externally-managed]\n', 'usercustomize.py': 'import apport\n' });
    writeTree(path.join(top, 'etc'), { 'sitecustomize.py': 'import apport_python_hook\napport_python_hook.install()\n' });
    nodeFs.symlinkSync(path.join(top, 'etc', 'sitecustomize.py'), path.join(lib, 'sitecustomize.py'));
    const result = await pack({ lib, out: path.join(top, 'out'), buildPython: PY, package: false, cache: false, jobs: 1, omittedHints: true });
    const byPath = new Map(result.decisions.map((d) => [d.path, d]));
    for (const file of ['sitecustomize.py', 'usercustomize.py', '_distutils_system_mod.py', 'EXTERNALLY-MANAGED']) {
      assert.is(byPath.get(file)?.action, 'omit', file);
      assert.is(byPath.get(file)?.rule?.id, 'host-config', file);
    }
    assert.equal(result.warnings.filter((w) => w.code === 'RULE_UNMATCHED'), []);
    const zip = unzipSync(nodeFs.readFileSync(result.outputs.find((o) => o.kind === 'zip')!.path));
    assert.ok(zip['sitecustomize.pyc'] && zip['_pywasm_assets_hints.pyc'], Object.keys(zip).join(' '));
    assert.not.ok(Buffer.from(zip['sitecustomize.pyc']).includes('apport'), 'the host sitecustomize was shipped');
    assert.not.ok('usercustomize.pyc' in zip || '_distutils_system_mod.pyc' in zip, Object.keys(zip).join(' '));
    // The hints' table names the omitted host modules, but not sitecustomize: importing that succeeds (it is ours).
    const zipFile = result.outputs.find((o) => o.kind === 'zip')!.path;
    const run = spawnSync(PY, ['-I', '-S', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(zipFile)}); import _pywasm_assets_hints as h; print(sorted(h.OMITTED))`], { encoding: 'utf8' });
    assert.is(run.stderr, '');
    assert.is(run.stdout.trim(), "['_distutils_system_mod', 'test', 'usercustomize']");
    // A user's own sitecustomize (--add) still clashes with the hints: that one is a choice, not a layout.
    const mine = path.join(writeTree(path.join(top, 'mine'), { 'sitecustomize.py': 'X = 1\n' }), 'sitecustomize.py');
    const clash = await pack({ lib, out: path.join(top, 'out2'), buildPython: PY, package: false, cache: false, jobs: 1, omittedHints: true, add: [mine] }).then(
      () => undefined,
      (error: any) => [error.code, error.message],
    );
    assert.equal(clash, ['ERR_ADD', '--omitted-hints adds sitecustomize.py, which the bundle already has.']);
  } finally {
    rmTmp(top);
  }
});

distro('the embedded default on Debian\'s /usr/bin/python3.11: --omitted-hints succeeds, no host file and no RULE_UNMATCHED', async () => {
  const debian = '/usr/lib/python3.11/sitecustomize.py';
  if (!nodeFs.existsSync('/usr/bin/python3.11') || !nodeFs.lstatSync(debian, { throwIfNoEntry: false })?.isSymbolicLink()) {
    return console.log(`  skipped: no Debian python3.11 here (/usr/bin/python3.11 with ${debian} a link into /etc)`);
  }
  const top = makeTmp();
  try {
    const result = await pack({ buildPython: '/usr/bin/python3.11', out: path.join(top, 'out'), cacheDir: path.join(top, 'cache'), cwd: top, omittedHints: true, package: false });
    assert.is(result.decisions.find((d) => d.path === 'sitecustomize.py')?.rule?.id, 'host-config');
    assert.is(result.decisions.find((d) => d.path === '_distutils_system_mod.py')?.rule?.id, 'host-config');
    assert.equal(result.warnings.filter((w) => w.code === 'RULE_UNMATCHED').map((w) => w.message), []);
    const zip = unzipSync(nodeFs.readFileSync(result.outputs.find((o) => o.kind === 'zip')!.path));
    assert.not.ok(Buffer.from(zip['sitecustomize.pyc']).includes('apport'), 'Debian\'s sitecustomize was shipped');
  } finally {
    rmTmp(top);
  }
});

distro.run();
