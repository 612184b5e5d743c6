/**
 * What an `if` test means for the scan (src/interpreter/python/imports.py's
 * `_classify`, `_platform` and `_wasm_value`): a platform test (both branches
 * conditional), a test whose body does not run on import (`if 0:`,
 * TYPE_CHECKING, `__name__ == '__main__'`, a falsy flag), or neither; and a
 * platform test's value on every WebAssembly target, when decided (onWasm).
 */
import { known, type Constant, type Node } from './expression.js';
import type { Flags } from './flags.js';
import { constantOf, mentions, nodeOf, type Lazy } from './lazy.js';

export const PLATFORM_MODULES = new Set(['sys', '_sys', 'os', '_os', 'platform']);
const PLATFORM_ATTRS = new Set(['platform', 'name', 'implementation', 'version_info', 'system', 'getwindowsversion', 'hexversion', 'flags', 'builtin_module_names']);
const SKIP_NAMES = new Set(['TYPE_CHECKING', '__name__']);
const WASM_OS_NAME = 'posix';
const WASM_PLATFORMS = ['emscripten', 'wasi'];

export type Condition = 'platform' | 'skip-body' | undefined;

export function classify(test: Node, flags: Flags): Condition {
  if (test.k === 'Constant' && test.falsy) return 'skip-body';
  if (test.k === 'Name' && flags.falsy.has(test.id)) return 'skip-body';
  if (test.k === 'Name' && test.id === 'TYPE_CHECKING') return 'skip-body';
  if (test.k === 'Attribute' && test.attr === 'TYPE_CHECKING') return 'skip-body';
  if (test.k === 'Compare' && test.ops.length === 1) {
    const sides = [test.left, test.comparators[0]];
    if (sides.some((s) => s.k === 'Name' && s.id === '__name__') && sides.some((s) => s.k === 'Constant' && s.kind === 'str' && s.value === '__main__')) return 'skip-body';
  }
  return platform(test, flags) ? 'platform' : undefined;
}

/** classify() of a test, parsed only when one of its names or its being a constant can decide it. */
export function classifyLazy(test: Lazy, flags: Flags): Condition {
  if (mentions(test, PLATFORM_MODULES, flags.names, flags.falsy, SKIP_NAMES)) return classify(nodeOf(test), flags);
  const constant = constantOf(test);
  return constant?.falsy ? 'skip-body' : undefined;
}

/** Does the expression read the platform (an attribute of PLATFORM_MODULES, hasattr on one) or a flag name? */
function platform(node: Node, flags: Flags): boolean {
  switch (node.k) {
    case 'Attribute': {
      const value = node.value;
      if (value.k === 'Name') return (PLATFORM_ATTRS.has(node.attr) && PLATFORM_MODULES.has(value.id)) || flags.names.has(value.id);
      return platform(value, flags);
    }
    case 'Name':
      return flags.names.has(node.id);
    case 'Compare':
      return platform(node.left, flags) || node.comparators.some((c) => platform(c, flags));
    case 'BoolOp':
      return node.values.some((v) => platform(v, flags));
    case 'UnaryOp':
      return platform(node.operand, flags);
    case 'Subscript':
      return platform(node.value, flags);
    case 'Call': {
      const f = node.func;
      const args = node.args;
      if (f.k === 'Name' && f.id === 'hasattr' && args.length && args[0].k === 'Name' && PLATFORM_MODULES.has(args[0].id)) return true;
      return platform(f, flags) || args.some((a) => platform(a, flags));
    }
    default:
      return false;
  }
}

/** The test's value on WebAssembly (os.name 'posix', sys.platform 'emscripten' or 'wasi'); undefined when not decided. */
export function wasmValue(node: Node, flags: Flags): boolean | undefined {
  switch (node.k) {
    case 'Compare':
      return compareValue(node);
    case 'Call': {
      const f = node.func;
      if (f.k === 'Attribute' && f.attr === 'startswith' && isAttr(f.value, 'platform') && node.args.length === 1 && node.keywords.length === 0) {
        const prefixes = strings(node.args[0]);
        if (prefixes !== undefined) return allOrNone(WASM_PLATFORMS.map((v) => prefixes.some((p) => v.startsWith(p))));
      }
      return undefined;
    }
    case 'UnaryOp': {
      if (node.op !== 'not') return undefined;
      const value = wasmValue(node.operand, flags);
      return value === undefined ? undefined : !value;
    }
    case 'BoolOp': {
      const values = node.values.map((v) => wasmValue(v, flags));
      if (node.op === 'and') return values.includes(false) ? false : values.includes(undefined) ? undefined : true;
      return values.includes(true) ? true : values.includes(undefined) ? undefined : false;
    }
    case 'Name':
      return flags.wasm.get(node.id);
    default:
      return undefined;
  }
}

/** `os.name` / `sys.platform` compared (==, !=, in, not in) with a string or a display of strings. */
function compareValue(node: Node & { k: 'Compare' }): boolean | undefined {
  if (node.ops.length !== 1) return undefined;
  const op = node.ops[0];
  const right = strings(node.comparators[0]);
  if (right === undefined) return undefined;
  let values: string[];
  if (isAttr(node.left, 'name')) values = [WASM_OS_NAME];
  else if (isAttr(node.left, 'platform')) values = WASM_PLATFORMS;
  else return undefined;
  if (op === '==' && right.length === 1) return allOrNone(values.map((v) => v === right[0]));
  if (op === '!=' && right.length === 1) return allOrNone(values.map((v) => v !== right[0]));
  if (op === 'in') return allOrNone(values.map((v) => right.includes(v)));
  if (op === 'not in') return allOrNone(values.map((v) => !right.includes(v)));
  return undefined;
}

const isAttr = (node: Node, attr: string) => node.k === 'Attribute' && node.attr === attr && node.value.k === 'Name' && PLATFORM_MODULES.has(node.value.id);

/** The strings of a str Constant, or of a tuple, list or set of them. */
function strings(node: Node): string[] | undefined {
  if (node.k === 'Constant' && node.kind === 'str') return [known(node)];
  if (node.k === 'Tuple' || node.k === 'List' || node.k === 'Set') {
    if (node.elts.every((e) => e.k === 'Constant' && e.kind === 'str')) return node.elts.map((e) => known(e as Constant));
  }
  return undefined;
}

/** True for every WebAssembly platform, false for none, undefined when they differ. */
const allOrNone = (results: boolean[]): boolean | undefined => (results.every(Boolean) ? true : !results.some(Boolean) ? false : undefined);
