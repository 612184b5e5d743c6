/**
 * The expression grammar's atoms: names, constants (numbers, implicitly
 * concatenated strings, None/True/False, `...`), parenthesized expressions and
 * tuples, list, set and dict displays, and the comprehensions any of them (or a
 * call's lone argument, parser.ts) can hold.
 */
import type { Cursor } from './cursor.js';
import type { Node } from './expression.js';
import { bitOr, disjunction, expression, starExpression } from './parser.js';
import { NAME, NUMBER, STRING, unsupported, type Tok } from './tokens.js';

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else',
  'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise',
  'return', 'try', 'while', 'with', 'yield',
]);

export function atom(p: Cursor): Node {
  const t = p.peek();
  if (!t) return unsupported('expression expected');
  if (t.t === NAME) {
    p.pos++;
    if (t.v === 'None' || t.v === 'True' || t.v === 'False') return { k: 'Constant', kind: t.v, value: undefined, falsy: t.v !== 'True' };
    if (KEYWORDS.has(t.v)) unsupported(`keyword ${t.v} in an expression`);
    return { k: 'Name', id: t.v };
  }
  if (t.t === NUMBER) {
    p.pos++;
    return { k: 'Constant', kind: 'num', value: t.v, falsy: numberFalsy(t.v) };
  }
  if (t.t === STRING) return strings(p, t);
  if (t.v === '...') {
    p.pos++;
    return { k: 'Constant', kind: 'Ellipsis', value: undefined, falsy: false };
  }
  if (t.v === '(') return parenthesized(p);
  if (t.v === '[') return listDisplay(p);
  if (t.v === '{') return braceDisplay(p);
  return unsupported(`unexpected ${t.v}`);
}

function numberFalsy(text: string): boolean {
  const s = text.replace(/_/g, '').replace(/[jJ]$/, '');
  if (/^0[xXoObB]/.test(s)) return /^0[xXoObB]0+$/.test(s);
  return Number(s) === 0;
}

/** Implicit concatenation from `first` on: one Constant, or a JoinedStr when any part is an f-string. */
function strings(p: Cursor, first: Tok): Node {
  let value: string | undefined = '';
  let joined = false;
  let fields = false;
  const bytes = first.str!.bytes;
  while (p.peek()?.t === STRING) {
    const s = p.peek()!.str!;
    p.pos++;
    if (s.f) joined = true;
    if (s.fields) fields = true;
    value = value === undefined || s.value === undefined ? undefined : value + s.value;
  }
  if (joined) return { k: 'Other', what: 'JoinedStr', children: [], opaque: fields };
  // An undecodable value is still known to be non-empty (it has an escape).
  return { k: 'Constant', kind: bytes ? 'bytes' : 'str', value, falsy: value === '' };
}

/** `(`: an empty tuple, a parenthesized expression or yield, a tuple, or a generator expression. */
function parenthesized(p: Cursor): Node {
  p.pos++;
  if (p.atOp(')')) {
    p.pos++;
    return { k: 'Tuple', elts: [] };
  }
  if (p.atName('yield')) {
    const y = expression(p);
    p.expectOp(')');
    return y;
  }
  const first = starExpression(p);
  if (p.atOp(')')) {
    p.pos++;
    return first; // parenthesized, not a tuple
  }
  const rest = displayRest(p, first, ')', 'GeneratorExp');
  return Array.isArray(rest) ? { k: 'Tuple', elts: rest } : rest;
}

function listDisplay(p: Cursor): Node {
  p.pos++;
  if (p.atOp(']')) {
    p.pos++;
    return { k: 'List', elts: [] };
  }
  const rest = displayRest(p, starExpression(p), ']', 'ListComp');
  return Array.isArray(rest) ? { k: 'List', elts: rest } : rest;
}

/** After the first element of a `(` or `[` display: a comprehension (`comp`), or the elements up to `close` (consumed). */
function displayRest(p: Cursor, first: Node, close: string, comp: string): Node | Node[] {
  if (p.atName('for') || p.atName('async')) {
    const c = comprehension(p, comp, [first]);
    p.expectOp(close);
    return c;
  }
  const elts = [first];
  while (p.atOp(',')) {
    p.pos++;
    if (p.atOp(close)) break;
    elts.push(starExpression(p));
  }
  p.expectOp(close);
  return elts;
}

/** `{`: a dict or set display, or a dict or set comprehension. */
function braceDisplay(p: Cursor): Node {
  p.pos++;
  if (p.atOp('}')) {
    p.pos++;
    return { k: 'Other', what: 'Dict', children: [] };
  }
  const children: Node[] = [];
  let dict = braceItem(p, children);
  if (p.atName('for') || p.atName('async')) {
    const c = comprehension(p, dict ? 'DictComp' : 'SetComp', children);
    p.expectOp('}');
    return c;
  }
  while (p.atOp(',')) {
    p.pos++;
    if (p.atOp('}')) break;
    if (braceItem(p, children)) dict = true;
  }
  p.expectOp('}');
  return dict ? { k: 'Other', what: 'Dict', children } : { k: 'Set', elts: children };
}

/** One item of a `{` display into `children`; answers whether it is a dict's (`**d` or `key: value`). */
function braceItem(p: Cursor, children: Node[]): boolean {
  if (p.atOp('**')) {
    p.pos++;
    children.push(bitOr(p));
    return true;
  }
  children.push(starExpression(p));
  if (!p.atOp(':')) return false;
  p.pos++;
  children.push(expression(p));
  return true;
}

/** Comprehension clauses after `elts` (the cursor is at `for` / `async`). */
export function comprehension(p: Cursor, what: string, elts: Node[]): Node {
  const children = [...elts];
  while (p.atName('for') || p.atName('async')) {
    if (p.atName('async')) p.pos++;
    p.pos++; // for
    children.push(targetList(p));
    if (!p.atName('in')) unsupported('comprehension without in');
    p.pos++;
    children.push(disjunction(p));
    while (p.atName('if')) {
      p.pos++;
      children.push(disjunction(p));
    }
  }
  return { k: 'Other', what, children };
}

/** star_targets of a `for`: bitwise-or level expressions, commas making a Tuple. */
function targetList(p: Cursor): Node {
  const first = target(p);
  if (!p.atOp(',')) return first;
  const elts = [first];
  while (p.atOp(',')) {
    p.pos++;
    if (p.atName('in')) break;
    elts.push(target(p));
  }
  return { k: 'Tuple', elts };
}

function target(p: Cursor): Node {
  if (p.atOp('*')) {
    p.pos++;
    return { k: 'Other', what: 'Starred', children: [bitOr(p)] };
  }
  return bitOr(p);
}
