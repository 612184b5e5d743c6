/**
 * The expression tree the parser builds: the node kinds the scan rules read
 * (rules.ts, conditions.ts, flags.ts), shaped like Python's `ast` nodes of the
 * same names, and everything else as `Other` with its sub-expressions.
 */
import { unsupported } from './tokens.js';

export type Node =
  | { k: 'Name'; id: string }
  | { k: 'Attribute'; value: Node; attr: string }
  | { k: 'Constant'; kind: 'str' | 'bytes' | 'num' | 'None' | 'True' | 'False' | 'Ellipsis'; value: string | undefined; falsy: boolean }
  | { k: 'Compare'; left: Node; ops: string[]; comparators: Node[] }
  | { k: 'BoolOp'; op: 'and' | 'or'; values: Node[] }
  | { k: 'UnaryOp'; op: string; operand: Node }
  | { k: 'Subscript'; value: Node; slice: Node }
  | { k: 'Call'; func: Node; args: Node[]; keywords: Node[] }
  | { k: 'Tuple' | 'List' | 'Set'; elts: Node[] }
  /** Anything else (BinOp, IfExp, Lambda, Dict, comprehensions, Starred, JoinedStr...), with its sub-expressions. */
  | { k: 'Other'; what: string; children: Node[]; opaque?: boolean };

export type Constant = Node & { k: 'Constant' };

/** A string Constant's value, which a rule is about to compare: Unsupported when the tokenizer left it undecoded (see tokens.ts's Str). */
export function known(node: Constant): string {
  if (node.value === undefined) unsupported('undecoded string in a test');
  return node.value!;
}
