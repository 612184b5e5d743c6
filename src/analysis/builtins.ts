/**
 * The modules a CPython interpreter provides by itself, for the import check.
 * `deriveBuiltins()` reads them from a CPython source tree; rules/builtins/<version>.json
 * keeps its output for each version (regenerate with
 * `node --import tsx test/support/derive-builtins.ts <cpython srcdir> > rules/builtins/3.11.json`;
 * test/imports.test.ts checks the committed file against the 3.11.2 tree).
 * `loadBuiltins()` derives from the source tree when the stdlib is a source
 * checkout's `Lib/`, else reads the data file.
 *
 * Sources (3.11 layout):
 * - Modules/Setup.bootstrap.in: the `*static*` modules a working interpreter
 *   needs; lines guarded by `@MODULE_<NAME>_TRUE@` (pwd) depend on configure.
 * - Modules/config.c.in: the core entries of `_PyImport_Inittab` (marshal, _imp,
 *   _ast, _tokenize, builtins, sys, gc, _warnings, _string).
 * - Python/frozen.c: `bootstrap_modules[]` (always frozen in: the import
 *   system) and `stdlib_modules[]` (frozen copies of Lib/ modules, plus `os.path`).
 * - configure.ac: every `PY_STDLIB_MOD([name]...)` / `PY_STDLIB_MOD_SIMPLE`
 *   defines `MODULE_<NAME>_STATE`; the ones commented out with `dnl` are still
 *   built by setup.py and have no state variable.
 * - PC/config.c and PCbuild/*.vcxproj (`<TargetExt>.pyd`, since 3.13 `$(PyStdlibPydExt)`): the Windows build's
 *   built-in and extension modules; those no POSIX list names (and that are not
 *   Lib/ modules) exist only on Windows.
 * - Python/stdlib_module_names.h: `sys.stdlib_module_names`, the top-level names of
 *   the whole stdlib (modules, packages, extensions), plus `test`, which it leaves out;
 *   a rule pattern naming one of them is no typo even where a distribution dropped it.
 * - Modules/<dir>/clinic/<file>.h of each built-in module: functions whose method
 *   definition appears only inside `#if defined(MS_WINDOWS)` blocks exist only
 *   on Windows (`_codecs.mbcs_encode`, which `encodings.mbcs` imports).
 */
import nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BuiltinsData } from './graph.js';
import type { PackFs } from '../types.js';
import { nearestVersion } from '../versions.js';
import { BUILTINS_DIR } from '../package-paths.js';
import { readRegularFile } from '../read-file.js';



/** The files deriveBuiltins() reads; a source tree has them all. */
const SOURCES = ['Include/patchlevel.h', 'Modules/Setup.bootstrap.in', 'Modules/config.c.in', 'Python/frozen.c', 'Python/stdlib_module_names.h', 'configure.ac', 'PC/config.c', 'PCbuild'];

/**
 * Built-ins for `version`: derived from `srcRoot` when it is a CPython source tree of
 * that version, else rules/builtins/<version>.json (or the newest one there).
 */
export function loadBuiltins(version: string, srcRoot?: string, fs: PackFs = nodeFs): { data: BuiltinsData; from: string; exact: boolean } {
  if (srcRoot && SOURCES.every((p) => fs.existsSync(join(srcRoot, p)))) {
    try {
      const data = deriveBuiltins(srcRoot, fs);
      if (data.version === version) return { data, from: srcRoot, exact: true };
    } catch {
      // An unusual tree (another layout): the kept data is the answer.
    }
  }
  const kept = nodeFs.readdirSync(BUILTINS_DIR).filter((f) => /^3\.\d+\.json$/.test(f)).map((f) => f.slice(0, -'.json'.length));
  const file = `${nearestVersion(version, kept)}.json`;
  return { data: JSON.parse(nodeFs.readFileSync(join(BUILTINS_DIR, file), 'utf8')) as BuiltinsData, from: `rules/builtins/${file}`, exact: kept.includes(version) };
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

function frozenArray(frozenC: string, array: string): string[] {
  const start = frozenC.indexOf(`struct _frozen ${array}[] = {`);
  if (start < 0) throw new Error(`Python/frozen.c: no ${array}[]`);
  const body = frozenC.slice(start, frozenC.indexOf('};', start));
  return [...body.matchAll(/^\s*\{"([^"]+)"/gm)].map((m) => m[1]);
}

/** Method names an Argument Clinic header defines only under `#if defined(MS_WINDOWS)`. */
function windowsOnlyMethods(header: string): string[] {
  const windows = new Set<string>();
  const elsewhere = new Set<string>();
  let inWindows = false;
  for (const line of header.split('\n')) {
    if (line === '#if defined(MS_WINDOWS)') inWindows = true;
    else if (line === '#endif /* defined(MS_WINDOWS) */') inWindows = false;
    const m = /^\s*\{"([A-Za-z0-9_]+)",/.exec(line);
    if (m) (inWindows ? windows : elsewhere).add(m[1]);
  }
  return sorted([...windows].filter((n) => !elsewhere.has(n)));
}

export function deriveBuiltins(srcdir: string, fs: PackFs = nodeFs): BuiltinsData {
  const read = (p: string) => readRegularFile(fs, join(srcdir, p)).toString('utf8');
  const exists = (p: string) => fs.existsSync(join(srcdir, p));
  const version = /PY_MINOR_VERSION\s+(\d+)/.exec(read('Include/patchlevel.h'));
  const major = /PY_MAJOR_VERSION\s+(\d+)/.exec(read('Include/patchlevel.h'));
  const bootstrapLines = read('Modules/Setup.bootstrap.in')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l && !l.startsWith('*') && !l.startsWith('@'))
    .map((l) => l.split(/\s+/));
  const bootstrap = bootstrapLines.map((l) => l[0]);
  const windowsOnlyAttributes: Record<string, string[]> = {};
  for (const [name, file] of bootstrapLines) {
    const header = join('Modules', dirname(file), 'clinic', `${basename(file)}.h`);
    if (!exists(header)) continue;
    const names = windowsOnlyMethods(read(header));
    if (names.length > 0) windowsOnlyAttributes[name] = names;
  }
  const inittab = [...read('Modules/config.c.in').matchAll(/^\s*\{"([^"]+)",/gm)].map((m) => m[1]);
  const frozenC = read('Python/frozen.c');
  const configure = read('configure.ac');
  const mods = (prefix: string) =>
    [...configure.matchAll(new RegExp(`^${prefix}PY_STDLIB_MOD(?:_SIMPLE)?\\(\\[([A-Za-z0-9_]+)\\]`, 'gm'))].map((m) => m[1]);
  const stdlibExtensions = mods('\\s*');
  const setupPy = mods('dnl ').filter((n) => n !== 'NAME' && !stdlibExtensions.includes(n));
  const builtin = [...bootstrap, ...inittab, ...frozenArray(frozenC, 'bootstrap_modules')];
  const posix = new Set([...builtin, ...stdlibExtensions, ...setupPy]);
  const pcConfig = [...read('PC/config.c').matchAll(/^\s*\{"([^"]+)",/gm)].map((m) => m[1]);
  const inLib = (n: string) => exists(join('Lib', `${n}.py`)) || exists(join('Lib', n));
  const windowsOnlyName = (n: string) => !posix.has(n) && !inLib(n) && !n.startsWith('_test');
  // A project is read only if its name could be Windows-only: ~10 of PCbuild's ~100 files.
  const pyd = fs
    .readdirSync(join(srcdir, 'PCbuild'))
    .map(String)
    .filter((f) => f.endsWith('.vcxproj'))
    .map((f) => f.slice(0, -'.vcxproj'.length))
    .filter((n) => windowsOnlyName(n) && /<TargetExt>(?:\.pyd|\$\(PyStdlibPydExt\))<\/TargetExt>/.test(read(`PCbuild/${n}.vcxproj`)));
  const stdlibNames = [...read('Python/stdlib_module_names.h').matchAll(/^"([A-Za-z0-9_]+)",$/gm)].map((m) => m[1]);
  const windowsOnly = [...pcConfig.filter(windowsOnlyName), ...pyd];
  return {
    version: `${major?.[1]}.${version?.[1]}`,
    source:
      'Derived from the CPython source tree by src/analysis/builtins.ts: builtin = the unconditional ' +
      'lines of Modules/Setup.bootstrap.in + the _PyImport_Inittab entries of Modules/config.c.in + ' +
      'bootstrap_modules[] of Python/frozen.c; frozen = stdlib_modules[] of Python/frozen.c; ' +
      'stdlibExtensions = PY_STDLIB_MOD names of configure.ac (they have MODULE_<NAME>_STATE); ' +
      'setupPyExtensions = names setup.py builds without a state variable (commented out in configure.ac); ' +
      'windowsOnly = modules of PC/config.c and the .pyd projects of PCbuild/ that no POSIX build has; ' +
      'windowsOnlyAttributes = functions of built-in modules that the clinic headers of Modules/ define only under MS_WINDOWS; ' +
      'stdlibModules = Python/stdlib_module_names.h (sys.stdlib_module_names) plus test.',
    builtin: sorted(builtin),
    frozen: sorted(frozenArray(frozenC, 'stdlib_modules')),
    // __main__ is the running program. Names a module sets in sys.modules itself (os.path)
    // are read from the sources by the import scan (`registers` records), not listed here.
    aliases: { '__main__': 'the running program' },
    stdlibExtensions: sorted(stdlibExtensions.filter((n) => n !== 'NAME')),
    setupPyExtensions: sorted(setupPy),
    windowsOnly: sorted(windowsOnly),
    windowsOnlyAttributes,
    stdlibModules: sorted([...stdlibNames, 'test']),
  };
}

