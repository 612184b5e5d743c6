/**
 * Derives rules/builtins/<version>.json from a CPython source tree, so the data
 * file can be checked (test/imports.test.ts) and regenerated:
 *
 *   node --import tsx test/support/derive-builtins.ts .cache/cpython-3.11.2 > rules/builtins/3.11.json
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
 * - PC/config.c and PCbuild/*.vcxproj (`<TargetExt>.pyd`): the Windows build's
 *   built-in and extension modules; those no POSIX list names (and that are not
 *   Lib/ modules) exist only on Windows.
 * - Modules/<dir>/clinic/<file>.h of each built-in module: functions whose method
 *   definition appears only inside `#if defined(MS_WINDOWS)` blocks exist only
 *   on Windows (`_codecs.mbcs_encode`, which `encodings.mbcs` imports).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuiltinsData } from '../../src/imports.js';

export type DerivedBuiltins = BuiltinsData;

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

export function deriveBuiltins(srcdir: string): DerivedBuiltins {
  const read = (p: string) => readFileSync(join(srcdir, p), 'utf8');
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
    if (!existsSync(join(srcdir, header))) continue;
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
  const pyd = readdirSync(join(srcdir, 'PCbuild'))
    .filter((f) => f.endsWith('.vcxproj') && read(`PCbuild/${f}`).includes('<TargetExt>.pyd</TargetExt>'))
    .map((f) => f.slice(0, -'.vcxproj'.length));
  const inLib = (n: string) => existsSync(join(srcdir, 'Lib', `${n}.py`)) || existsSync(join(srcdir, 'Lib', n));
  const windowsOnly = [...pcConfig, ...pyd].filter((n) => !posix.has(n) && !inLib(n) && !n.startsWith('_test'));
  return {
    version: `${major?.[1]}.${version?.[1]}`,
    source:
      'Derived from the CPython source tree by test/support/derive-builtins.ts: builtin = the unconditional ' +
      'lines of Modules/Setup.bootstrap.in + the _PyImport_Inittab entries of Modules/config.c.in + ' +
      'bootstrap_modules[] of Python/frozen.c; frozen = stdlib_modules[] of Python/frozen.c; ' +
      'stdlibExtensions = PY_STDLIB_MOD names of configure.ac (they have MODULE_<NAME>_STATE); ' +
      'setupPyExtensions = names setup.py builds without a state variable (commented out in configure.ac); ' +
      'windowsOnly = modules of PC/config.c and the .pyd projects of PCbuild/ that no POSIX build has; ' +
      'windowsOnlyAttributes = functions of built-in modules that the clinic headers of Modules/ define only under MS_WINDOWS.',
    builtin: sorted(builtin),
    frozen: sorted(frozenArray(frozenC, 'stdlib_modules')),
    // os sets sys.modules['os.path'] to posixpath/ntpath; __main__ is the running program.
    aliases: { '__main__': 'the running program', 'os.path': 'os' },
    stdlibExtensions: sorted(stdlibExtensions.filter((n) => n !== 'NAME')),
    setupPyExtensions: sorted(setupPy),
    windowsOnly: sorted(windowsOnly),
    windowsOnlyAttributes,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcdir = process.argv[2];
  if (!srcdir) {
    process.stderr.write('usage: derive-builtins.ts <cpython srcdir>\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${JSON.stringify(deriveBuiltins(srcdir), null, 2)}\n`);
  }
}
