/**
 * Where the package's files live, all from this module's place: src/ under tsx, dist/
 * once built. Every file the code finds by its own location is named here and nowhere
 * else, so that the built code can be bundled (npm run build puts the bundles at the
 * top of dist/, where this module's place is the same).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** src/ (through tsx) or dist/: the code's directory. */
const CODE = new URL('./', import.meta.url);
/** The code's directory as a path: src/ or dist/. */
export const CODE_DIR = fileURLToPath(CODE);
/** Whether the code runs from its TypeScript sources (tests, through tsx). */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** rules/: the built-in rule files (*.json). */
export const RULES_DIR = fileURLToPath(new URL('../rules/', CODE));
/** rules/builds/: the built-in descriptions of stock Emscripten builds, one per version. */
export const BUILDS_DIR = fileURLToPath(new URL('../rules/builds/', CODE));
/** rules/builtins/: the interpreter's own modules, one file per version. */
export const BUILTINS_DIR = fileURLToPath(new URL('../rules/builtins/', CODE));
/** interpreter/python/: the worker scripts the build interpreter runs (npm run build copies them to dist/). */
export const WORKER_SCRIPTS_DIR = fileURLToPath(new URL('./interpreter/python/', CODE));
/** The script a Pyodide build interpreter runs in (a Node process of its own; never bundled). */
export const PYODIDE_HOST_SCRIPT = fileURLToPath(new URL(`./interpreter/pyodide-host.${FROM_SOURCES ? 'ts' : 'js'}`, CODE));
/** pipeline/omitted-hints/: the hint modules' Python templates. */
export const HINT_TEMPLATES_DIR = fileURLToPath(new URL('./pipeline/omitted-hints/', CODE));
/** `require` from the package's place: a dependency loaded synchronously where it is needed, not at start-up. */
export const requireFromPackage = createRequire(CODE);
