/**
 * The import facts of a Python module, read from its source text in Node.
 *
 * The same records as src/interpreter/python/imports.py's
 * `find_imports(ast.parse(src))` (see that file for what `conditional`,
 * `onWasm` and `dynamic` mean), from a tokenizer, a statement-structure builder
 * and an expression parser written for exactly the questions the scan asks.
 * Why not ask the build interpreter: its AST costs ~0.7 s of CPU for the 3.11
 * stdlib's default bundle (building Python objects for every node, then turning
 * them back into C structures to compile), about as much as compiling itself.
 * This scan: ~0.09 s once V8 has optimized it, ~0.25 s (0.4 s of CPU with V8's
 * compiler threads) on a cold process's first pass, on the main thread while
 * the workers compile from source. Hence module-level state in the tokenizer and
 * plain functions everywhere (no per-file closures), which V8 optimizes early.
 *
 * The stages, one module each:
 * - decode.ts: bytes → text (UTF-8 and PEP 263 coding cookies);
 * - tokens.ts: text → logical lines of tokens, function bodies only skimmed for `import`;
 * - statements.ts: lines → compound statement structure (blocks, clauses; colons.ts
 *   finds where headers end), simple-statements.ts: a line → imports, assignments, expressions;
 * - lazy.ts: expressions kept as tokens, parsed only when a rule needs them, by
 *   parser.ts (precedence levels) and atoms.ts (atoms, displays, comprehensions)
 *   over a cursor.ts Cursor, into expression.ts's nodes;
 * - rules.ts: imports.py's rules over the statements, with conditions.ts (what an
 *   `if` test means) and flags.ts (what module-level names mean).
 *
 * Exactness: test/pyscan.test.ts checks these records equal find_imports' for
 * every UTF-8 .py file of the machine's stdlib (tests included) and of CPython
 * 3.11.2's source tree, and on snippets. When the source holds something this scanner was not
 * written for (a non-UTF-8 coding cookie, an undecodable string that a platform
 * test reads, a lambda in a lambda's defaults...), `findImports` returns
 * undefined and the caller asks the build interpreter for the AST scan instead.
 * It is only ever used on sources the build interpreter compiled, so it need not
 * diagnose syntax errors.
 */
import type { ImportRecord } from '../graph.js';
import { decode } from './decode.js';
import { newFlags } from './flags.js';
import { walk } from './rules.js';
import { block } from './statements.js';
import { tokenize, Unsupported, unsupported } from './tokens.js';

export { SCAN_VERSION } from './version.js';

/**
 * The import records of a module's source (what find_imports(ast.parse(source))
 * answers), or undefined when this scan cannot be sure of them.
 */
export function findImports(source: Uint8Array | string): ImportRecord[] | undefined {
  const text = decode(source);
  if (text === undefined) return undefined;
  try {
    const lines = tokenize(text);
    if (!lines.length) return [];
    if (lines[0].indent !== 0) unsupported('indented first line');
    const [body, next] = block(lines, 0, false);
    if (next !== lines.length) unsupported('trailing lines');
    const out: ImportRecord[] = [];
    walk(body, false, false, true, false, out, newFlags());
    // Stable: records of one line keep their order (Python's list.sort is stable too).
    out.sort((a, b) => a.line - b.line);
    return out;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** Why findImports gave up on a source (for tests and diagnostics); undefined if it did not. */
export function whyUnsupported(source: Uint8Array | string): string | undefined {
  const text = decode(source);
  if (text === undefined) return 'not UTF-8';
  try {
    const lines = tokenize(text);
    if (!lines.length) return undefined;
    const [body] = block(lines, 0, false);
    walk(body, false, false, true, false, [], newFlags());
    return undefined;
  } catch (error) {
    if (error instanceof Unsupported) return error.message;
    throw error;
  }
}
