/**
 * What module-level names are known to mean, as the scan learns them from
 * assignments and imports (imports.py's `_Flags`, `_bind` and `_bind_constant`):
 * flags that describe the platform, names bound to a falsy constant, flags'
 * values on WebAssembly, and the names of the sys module.
 */
import { wasmValue } from './conditions.js';
import type { Node } from './expression.js';
import { constantOf, nodeOf, singleName, type Lazy } from './lazy.js';
import type { Stmt } from './statements.js';
import { unsupported } from './tokens.js';

export interface Flags {
  /** Names bound inside an import-guarding try or from a platform test: reading one is a platform test. */
  names: Set<string>;
  /** Names bound to a falsy constant (`_false = 0` before `if _false: import x`). */
  falsy: Set<string>;
  /** A flag's value on WebAssembly, when decided. */
  wasm: Map<string, boolean>;
  /** Module-level names bound to the sys module (`import sys as _sys`). */
  sys: Set<string>;
}

export const newFlags = (): Flags => ({ names: new Set(), falsy: new Set(), wasm: new Map(), sys: new Set() });

/** Every Name in the targets (ast.walk) becomes a flag. */
export function bind(targets: Node[], flags: Flags): void {
  const stack = [...targets];
  while (stack.length) {
    const node = stack.pop()!;
    switch (node.k) {
      case 'Name':
        flags.names.add(node.id);
        break;
      case 'Attribute':
        stack.push(node.value);
        break;
      case 'Compare':
        stack.push(node.left, ...node.comparators);
        break;
      case 'BoolOp':
        stack.push(...node.values);
        break;
      case 'UnaryOp':
        stack.push(node.operand);
        break;
      case 'Subscript':
        stack.push(node.value, node.slice);
        break;
      case 'Call':
        stack.push(node.func, ...node.args, ...node.keywords);
        break;
      case 'Tuple':
      case 'List':
      case 'Set':
        stack.push(...node.elts);
        break;
      case 'Other':
        if (node.opaque) unsupported(`${node.what} in an assignment target`);
        stack.push(...node.children);
        break;
    }
  }
}

/** `name = value`: whether `name` is now falsy, and its decided value on WebAssembly when `value` is a platform test (`isPlatform`). */
export function bindConstant(stmt: Stmt & { k: 'assign' }, value: Lazy, flags: Flags, isPlatform: boolean): void {
  if (stmt.targets.length !== 1) return;
  const name = singleName(stmt.targets[0]);
  if (name === undefined) return;
  if (constantOf(value)?.falsy) flags.falsy.add(name);
  else flags.falsy.delete(name);
  const decided = isPlatform ? wasmValue(nodeOf(value), flags) : undefined;
  if (decided === undefined) flags.wasm.delete(name);
  else flags.wasm.set(name, decided);
}
