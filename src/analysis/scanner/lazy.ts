/**
 * An expression kept as its tokens and parsed only when a rule needs its
 * structure (most module-level statements never do: see `mentions`). Parsing
 * on demand keeps the parser cold, and V8's optimizing compiler with it, which
 * is most of the scan's cost on a first (cold) pass. The questions answered
 * here from the tokens alone (`mentions`, `constantOf`, `singleName`) are what
 * spares the parse.
 */
import { Cursor } from './cursor.js';
import type { Constant, Node } from './expression.js';
import { expression, namedExpression, starExpressions } from './parser.js';
import { NAME, NUMBER, OP, STRING, unsupported, type Tok } from './tokens.js';

export interface Lazy {
  toks: Tok[];
  start: number;
  end: number;
  /** How to parse it: a test (`named_expression`) or an assignment side (`star_expressions`, or a yield). */
  test: boolean;
  node?: Node;
}

/** toks[start, end) as a Lazy (every one made here, so that all share one object shape). */
export function lazyRange(toks: Tok[], start: number, end: number, test: boolean): Lazy {
  return { toks, start, end, test, node: undefined };
}

export function nodeOf(lazy: Lazy): Node {
  if (lazy.node) return lazy.node;
  const p = new Cursor(lazy.toks, lazy.start, lazy.end);
  const node = lazy.test ? namedExpression(p) : p.atName('yield') ? expression(p) : starExpressions(p);
  if (!p.done()) unsupported('trailing tokens in an expression');
  return (lazy.node = node);
}

/** Does the expression hold one of these names (as a NAME token)? For one parsed with others (a lambda's statement), their names count too: that only means parsing, and it is parsed. */
export function mentions(lazy: Lazy, ...sets: ReadonlySet<string>[]): boolean {
  for (let j = lazy.start; j < lazy.end; j++) {
    const t = lazy.toks[j];
    if (t.t === NAME) for (const set of sets) if (set.has(t.v)) return true;
  }
  return false;
}

const CONSTANT_NAMES = new Set(['None', 'True', 'False']);

/**
 * The expression's Constant node when it is one, from its tokens: a number,
 * None/True/False/..., or (concatenated) plain strings; parsed when it starts
 * with a parenthesis; undefined when it cannot be a Constant.
 */
export function constantOf(lazy: Lazy): Constant | undefined {
  if (lazy.node) return lazy.node.k === 'Constant' ? lazy.node : undefined;
  const first = lazy.toks[lazy.start];
  if (first.t === OP && first.v === '(') {
    const node = nodeOf(lazy);
    return node.k === 'Constant' ? node : undefined;
  }
  if (first.t === STRING) {
    for (let j = lazy.start; j < lazy.end; j++) if (lazy.toks[j].t !== STRING) return undefined;
  } else if (lazy.end - lazy.start !== 1 || !(first.t === NUMBER || (first.t === NAME && CONSTANT_NAMES.has(first.v)) || (first.t === OP && first.v === '...'))) {
    return undefined;
  }
  const node = nodeOf(lazy);
  return node.k === 'Constant' ? node : undefined;
}

/** The target's name when it is a plain name (`x` or `(x)`). */
export function singleName(target: Lazy): string | undefined {
  if (target.node) return target.node.k === 'Name' ? target.node.id : undefined;
  const first = target.toks[target.start];
  if (target.end - target.start === 1) return first.t === NAME ? first.v : undefined;
  if (first.t !== OP || first.v !== '(') return undefined;
  const node = nodeOf(target);
  return node.k === 'Name' ? node.id : undefined;
}
