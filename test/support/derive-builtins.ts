/**
 * Regenerates rules/builtins/<version>.json from a CPython source tree:
 *
 *   node --import tsx test/support/derive-builtins.ts .cache/cpython-3.11.2 > rules/builtins/3.11.json
 */
import { fileURLToPath } from 'node:url';
import { deriveBuiltins } from '../../src/analysis/builtins.js';

export { deriveBuiltins };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcdir = process.argv[2];
  if (!srcdir) {
    process.stderr.write('usage: derive-builtins.ts <cpython srcdir>\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${JSON.stringify(deriveBuiltins(srcdir), null, 2)}\n`);
  }
}
