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
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DerivedBuiltins {
  version: string;
  source: string;
  builtin: string[];
  frozen: string[];
  aliases: Record<string, string>;
  stdlibExtensions: string[];
  setupPyExtensions: string[];
  windowsOnly: string[];
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

function frozenArray(frozenC: string, array: string): string[] {
  const start = frozenC.indexOf(`struct _frozen ${array}[] = {`);
  if (start < 0) throw new Error(`Python/frozen.c: no ${array}[]`);
  const body = frozenC.slice(start, frozenC.indexOf('};', start));
  return [...body.matchAll(/^\s*\{"([^"]+)"/gm)].map((m) => m[1]);
}

export function deriveBuiltins(srcdir: string): DerivedBuiltins {
  const read = (p: string) => readFileSync(join(srcdir, p), 'utf8');
  const version = /PY_MINOR_VERSION\s+(\d+)/.exec(read('Include/patchlevel.h'));
  const major = /PY_MAJOR_VERSION\s+(\d+)/.exec(read('Include/patchlevel.h'));
  const bootstrap = read('Modules/Setup.bootstrap.in')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l && !l.startsWith('*') && !l.startsWith('@'))
    .map((l) => l.split(/\s+/)[0]);
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
      'windowsOnly = modules of PC/config.c and the .pyd projects of PCbuild/ that no POSIX build has.',
    builtin: sorted(builtin),
    frozen: sorted(frozenArray(frozenC, 'stdlib_modules')),
    // os sets sys.modules['os.path'] to posixpath/ntpath; __main__ is the running program.
    aliases: { '__main__': 'the running program', 'os.path': 'os' },
    stdlibExtensions: sorted(stdlibExtensions.filter((n) => n !== 'NAME')),
    setupPyExtensions: sorted(setupPy),
    windowsOnly: sorted(windowsOnly),
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
