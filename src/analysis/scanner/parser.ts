/**
 * The expression grammar's precedence levels, from `star_expressions` down to
 * `primary` (attribute access, calls and subscripts), after CPython's
 * Grammar/python.gram; atoms, displays and comprehensions are in atoms.ts.
 * Plain functions over a Cursor, each one level; only what the scan needs is
 * kept apart (see expression.ts), the rest becomes `Other` nodes.
 */
import { atom, comprehension } from './atoms.js';
import type { Cursor } from './cursor.js';
import type { Node } from './expression.js';
import { NAME, OP, unsupported } from './tokens.js';

const COMPARE_OPS = new Set(['<', '>', '==', '>=', '<=', '!=']);
const BIN_LEVELS: string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '//', '%', '@']];

/** star_expressions: `a`, `a, b`, `*a, b` (a Tuple when there is a comma). */
export function starExpressions(p: Cursor): Node {
  const first = starExpression(p);
  if (!p.atOp(',')) return first;
  const elts = [first];
  while (p.atOp(',')) {
    p.pos++;
    if (p.done() || atEndOfExpressions(p)) break;
    elts.push(starExpression(p));
  }
  return { k: 'Tuple', elts };
}

/** After a trailing comma: does the token end the expression list (an assignment, a closing bracket, a `for` target's `in`...)? */
function atEndOfExpressions(p: Cursor): boolean {
  const t = p.peek()!;
  if (t.t === OP) return t.v === '=' || t.v === ')' || t.v === ']' || t.v === '}' || t.v === ':' || t.v === ';' || (t.v.endsWith('=') && t.v.length >= 2 && !['==', '<=', '>=', '!='].includes(t.v));
  return t.t === NAME && (t.v === 'in' || t.v === 'for' || t.v === 'async');
}

export function starExpression(p: Cursor): Node {
  if (p.atOp('*')) {
    p.pos++;
    return { k: 'Other', what: 'Starred', children: [bitOr(p)] };
  }
  return namedExpression(p);
}

export function namedExpression(p: Cursor): Node {
  const t = p.peek();
  if (t?.t === NAME && p.atOp(':=', 1)) {
    p.pos += 2;
    return { k: 'Other', what: 'NamedExpr', children: [{ k: 'Name', id: t.v }, expression(p)] };
  }
  return expression(p);
}

export function expression(p: Cursor): Node {
  if (p.atName('lambda')) return lambda(p);
  if (p.atName('yield')) return yieldExpr(p);
  const body = disjunction(p);
  if (p.atName('if')) {
    p.pos++;
    const test = disjunction(p);
    if (!p.atName('else')) unsupported('if without else');
    p.pos++;
    const orelse = expression(p);
    return { k: 'Other', what: 'IfExp', children: [test, body, orelse] };
  }
  return body;
}

function yieldExpr(p: Cursor): Node {
  p.pos++;
  if (p.atName('from')) {
    p.pos++;
    return { k: 'Other', what: 'YieldFrom', children: [expression(p)] };
  }
  if (p.done() || atEndOfExpressions(p)) return { k: 'Other', what: 'Yield', children: [] };
  return { k: 'Other', what: 'Yield', children: [starExpressions(p)] };
}

function lambda(p: Cursor): Node {
  p.pos++;
  // Parameters: names, defaults, * and **; a default may hold brackets, never a colon outside them.
  let depth = 0;
  const children: Node[] = [];
  while (!p.done()) {
    const t = p.peek()!;
    if (t.t === OP) {
      if (depth === 0 && t.v === ':') break;
      if (depth === 0 && t.v === '=') {
        p.pos++;
        children.push(expression(p));
        continue;
      }
      if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
      else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
    } else if (t.t === NAME && t.v === 'lambda') unsupported('lambda in lambda parameters');
    p.pos++;
  }
  p.expectOp(':');
  children.push(expression(p));
  return { k: 'Other', what: 'Lambda', children, opaque: true };
}

export function disjunction(p: Cursor): Node {
  return boolOp(p, 'or', conjunction);
}

function conjunction(p: Cursor): Node {
  return boolOp(p, 'and', inversion);
}

/** `a op b op c` as one BoolOp (Python's `and`/`or` chains are flat). */
function boolOp(p: Cursor, op: 'and' | 'or', operand: (p: Cursor) => Node): Node {
  const first = operand(p);
  if (!p.atName(op)) return first;
  const values = [first];
  while (p.atName(op)) {
    p.pos++;
    values.push(operand(p));
  }
  return { k: 'BoolOp', op, values };
}

function inversion(p: Cursor): Node {
  if (p.atName('not')) {
    p.pos++;
    return { k: 'UnaryOp', op: 'not', operand: inversion(p) };
  }
  return comparison(p);
}

function comparison(p: Cursor): Node {
  const left = bitOr(p);
  const ops: string[] = [];
  const comparators: Node[] = [];
  for (;;) {
    const t = p.peek();
    if (!t) break;
    let op: string | undefined;
    if (t.t === OP && COMPARE_OPS.has(t.v)) op = t.v;
    else if (t.t === NAME && t.v === 'in') op = 'in';
    else if (t.t === NAME && t.v === 'not' && p.atName('in', 1)) op = 'not in';
    else if (t.t === NAME && t.v === 'is') op = p.atName('not', 1) ? 'is not' : 'is';
    if (!op) break;
    p.pos += op === 'not in' || op === 'is not' ? 2 : 1;
    ops.push(op);
    comparators.push(bitOr(p));
  }
  return ops.length ? { k: 'Compare', left, ops, comparators } : left;
}

/** bitwise_or down to term: one BIN_LEVELS entry per level, all BinOps (which the rules never look into). */
export function bitOr(p: Cursor, level = 0): Node {
  if (level === BIN_LEVELS.length) return factor(p);
  let left = bitOr(p, level + 1);
  const ops = BIN_LEVELS[level];
  while (p.peek()?.t === OP && ops.includes(p.peek()!.v)) {
    p.pos++;
    left = { k: 'Other', what: 'BinOp', children: [left, bitOr(p, level + 1)] };
  }
  return left;
}

function factor(p: Cursor): Node {
  const t = p.peek();
  if (t?.t === OP && (t.v === '-' || t.v === '+' || t.v === '~')) {
    p.pos++;
    return { k: 'UnaryOp', op: t.v, operand: factor(p) };
  }
  return power(p);
}

function power(p: Cursor): Node {
  let base: Node;
  if (p.atName('await')) {
    p.pos++;
    base = { k: 'Other', what: 'Await', children: [primary(p)] };
  } else base = primary(p);
  if (p.atOp('**')) {
    p.pos++;
    return { k: 'Other', what: 'BinOp', children: [base, factor(p)] };
  }
  return base;
}

/** An atom and its trailers: `.name`, `(args)`, `[slices]`. */
function primary(p: Cursor): Node {
  let node = atom(p);
  for (;;) {
    if (p.atOp('.')) {
      p.pos++;
      const t = p.peek();
      if (t?.t !== NAME) unsupported('attribute name');
      p.pos++;
      node = { k: 'Attribute', value: node, attr: t!.v };
    } else if (p.atOp('(')) {
      p.pos++;
      node = callArgs(p, node);
    } else if (p.atOp('[')) {
      p.pos++;
      const slice = slices(p);
      p.expectOp(']');
      node = { k: 'Subscript', value: node, slice };
    } else return node;
  }
}

/** A call's arguments after its `(` (consumed up to the `)`): `**kw` and `name=value` go to keywords, the rest to args. */
function callArgs(p: Cursor, func: Node): Node {
  const args: Node[] = [];
  const keywords: Node[] = [];
  while (!p.atOp(')')) {
    if (p.atOp('**')) {
      p.pos++;
      keywords.push(expression(p));
    } else if (p.atOp('*')) {
      p.pos++;
      args.push({ k: 'Other', what: 'Starred', children: [expression(p)] });
    } else if (p.peek()?.t === NAME && p.atOp('=', 1)) {
      p.pos += 2;
      keywords.push(expression(p));
    } else {
      const arg = namedExpression(p);
      if (p.atName('for') || p.atName('async')) args.push(comprehension(p, 'GeneratorExp', [arg]));
      else args.push(arg);
    }
    if (!p.atOp(',')) break;
    p.pos++;
  }
  p.expectOp(')');
  return { k: 'Call', func, args, keywords };
}

/** A subscript's contents: one slice, or a Tuple of them. */
function slices(p: Cursor): Node {
  const first = slice(p);
  if (!p.atOp(',')) return first;
  const elts = [first];
  while (p.atOp(',')) {
    p.pos++;
    if (p.atOp(']')) break;
    elts.push(slice(p));
  }
  return { k: 'Tuple', elts };
}

function slice(p: Cursor): Node {
  const children: Node[] = [];
  let isSlice = false;
  if (!p.atOp(':')) {
    if (p.atOp('*')) {
      p.pos++;
      return { k: 'Other', what: 'Starred', children: [bitOr(p)] };
    }
    const e = namedExpression(p);
    if (!p.atOp(':')) return e;
    children.push(e);
  }
  while (p.atOp(':')) {
    isSlice = true;
    p.pos++;
    if (!p.atOp(':') && !p.atOp(']') && !p.atOp(',')) children.push(expression(p));
  }
  return { k: 'Other', what: isSlice ? 'Slice' : 'Expr', children };
}
