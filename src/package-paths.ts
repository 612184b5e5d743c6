/**
 * Where the package's data lives, from this module's place (src/ under tsx, dist/ once
 * built): the rule files, the built-in build descriptions and the built-in module data.
 */
import { fileURLToPath } from 'node:url';

/** rules/: the built-in rule files (*.json). */
export const RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));
/** rules/builds/: the built-in descriptions of stock Emscripten builds, one per version. */
export const BUILDS_DIR = fileURLToPath(new URL('../rules/builds/', import.meta.url));
/** rules/builtins/: the interpreter's own modules, one file per version. */
export const BUILTINS_DIR = fileURLToPath(new URL('../rules/builtins/', import.meta.url));
