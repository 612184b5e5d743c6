/**
 * The import facts of a Python module, read from its source text in Node.
 *
 * The same records as src/python/imports.py's `find_imports(ast.parse(src))`
 * (see that file for what `conditional`, `onWasm` and `dynamic` mean), from a
 * tokenizer, a statement-structure builder and an expression parser written for
 * exactly the questions the scan asks (src/pytokens.ts tokenizes; function
 * bodies are only skimmed for `import`, module-level statements parsed only
 * when a rule needs them). Why not ask the build interpreter: its AST costs
 * ~0.7 s of CPU for the 3.11 stdlib's default bundle (building Python objects
 * for every node, then turning them back into C structures to compile), about
 * as much as compiling itself. This scan: ~0.09 s once V8 has optimized it,
 * ~0.25 s (0.4 s of CPU with V8's compiler threads) on a cold process's first
 * pass, on the main thread while the workers compile from source.
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
import { NAME, NUMBER, OP, STRING, tokenize, Unsupported, unsupported, type LogicalLine, type Tok } from './tokens.js';

/** Bump when the records this scan produces could change (part of the cache key). */
export const SCAN_VERSION = 'pyscan 2';

// --- expressions ----------------------------------------------------------------

type Node =
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

const COMPARE_OPS = new Set(['<', '>', '==', '>=', '<=', '!=']);
const BIN_LEVELS: string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '//', '%', '@']];
const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else',
  'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise',
  'return', 'try', 'while', 'with', 'yield',
]);

function numberFalsy(text: string): boolean {
  const s = text.replace(/_/g, '').replace(/[jJ]$/, '');
  if (/^0[xXoObB]/.test(s)) return /^0[xXoObB]0+$/.test(s);
  return Number(s) === 0;
}

class Parser {
  pos: number;
  constructor(
    readonly toks: Tok[],
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  peek(offset = 0): Tok | undefined {
    const p = this.pos + offset;
    return p < this.end ? this.toks[p] : undefined;
  }
  atOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.t === OP && t.v === v;
  }
  atName(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.t === NAME && t.v === v;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  expectOp(v: string): void {
    if (!this.atOp(v)) unsupported(`expected ${v}`);
    this.pos++;
  }

  /** star_expressions: `a`, `a, b`, `*a, b` (a Tuple when there is a comma). */
  starExpressions(): Node {
    const first = this.starExpression();
    if (!this.atOp(',')) return first;
    const elts = [first];
    while (this.atOp(',')) {
      this.pos++;
      if (this.done() || this.atEndOfExpressions()) break;
      elts.push(this.starExpression());
    }
    return { k: 'Tuple', elts };
  }

  private atEndOfExpressions(): boolean {
    const t = this.peek()!;
    if (t.t === OP) return t.v === '=' || t.v === ')' || t.v === ']' || t.v === '}' || t.v === ':' || t.v === ';' || (t.v.endsWith('=') && t.v.length >= 2 && !['==', '<=', '>=', '!='].includes(t.v));
    return t.t === NAME && (t.v === 'in' || t.v === 'for' || t.v === 'async');
  }

  starExpression(): Node {
    if (this.atOp('*')) {
      this.pos++;
      return { k: 'Other', what: 'Starred', children: [this.bitOr()] };
    }
    return this.namedExpression();
  }

  namedExpression(): Node {
    const t = this.peek();
    if (t?.t === NAME && this.atOp(':=', 1)) {
      this.pos += 2;
      return { k: 'Other', what: 'NamedExpr', children: [{ k: 'Name', id: t.v }, this.expression()] };
    }
    return this.expression();
  }

  expression(): Node {
    if (this.atName('lambda')) return this.lambda();
    if (this.atName('yield')) return this.yieldExpr();
    const body = this.disjunction();
    if (this.atName('if')) {
      this.pos++;
      const test = this.disjunction();
      if (!this.atName('else')) unsupported('if without else');
      this.pos++;
      const orelse = this.expression();
      return { k: 'Other', what: 'IfExp', children: [test, body, orelse] };
    }
    return body;
  }

  private yieldExpr(): Node {
    this.pos++;
    if (this.atName('from')) {
      this.pos++;
      return { k: 'Other', what: 'YieldFrom', children: [this.expression()] };
    }
    if (this.done() || this.atEndOfExpressions()) return { k: 'Other', what: 'Yield', children: [] };
    return { k: 'Other', what: 'Yield', children: [this.starExpressions()] };
  }

  private lambda(): Node {
    this.pos++;
    // Parameters: names, defaults, * and **; a default may hold brackets, never a colon outside them.
    let depth = 0;
    const children: Node[] = [];
    while (!this.done()) {
      const t = this.peek()!;
      if (t.t === OP) {
        if (depth === 0 && t.v === ':') break;
        if (depth === 0 && t.v === '=') {
          this.pos++;
          children.push(this.expression());
          continue;
        }
        if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
        else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
      } else if (t.t === NAME && t.v === 'lambda') unsupported('lambda in lambda parameters');
      this.pos++;
    }
    this.expectOp(':');
    children.push(this.expression());
    return { k: 'Other', what: 'Lambda', children, opaque: true };
  }

  disjunction(): Node {
    return this.boolOp('or', () => this.conjunction());
  }

  private conjunction(): Node {
    return this.boolOp('and', () => this.inversion());
  }

  /** `a op b op c` as one BoolOp (Python's `and`/`or` chains are flat). */
  private boolOp(op: 'and' | 'or', operand: () => Node): Node {
    const first = operand();
    if (!this.atName(op)) return first;
    const values = [first];
    while (this.atName(op)) {
      this.pos++;
      values.push(operand());
    }
    return { k: 'BoolOp', op, values };
  }

  private inversion(): Node {
    if (this.atName('not')) {
      this.pos++;
      return { k: 'UnaryOp', op: 'not', operand: this.inversion() };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.bitOr();
    const ops: string[] = [];
    const comparators: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) break;
      let op: string | undefined;
      if (t.t === OP && COMPARE_OPS.has(t.v)) op = t.v;
      else if (t.t === NAME && t.v === 'in') op = 'in';
      else if (t.t === NAME && t.v === 'not' && this.atName('in', 1)) op = 'not in';
      else if (t.t === NAME && t.v === 'is') op = this.atName('not', 1) ? 'is not' : 'is';
      if (!op) break;
      this.pos += op === 'not in' || op === 'is not' ? 2 : 1;
      ops.push(op);
      comparators.push(this.bitOr());
    }
    return ops.length ? { k: 'Compare', left, ops, comparators } : left;
  }

  bitOr(level = 0): Node {
    if (level === BIN_LEVELS.length) return this.factor();
    let left = this.bitOr(level + 1);
    const ops = BIN_LEVELS[level];
    while (this.peek()?.t === OP && ops.includes(this.peek()!.v)) {
      this.pos++;
      left = { k: 'Other', what: 'BinOp', children: [left, this.bitOr(level + 1)] };
    }
    return left;
  }

  private factor(): Node {
    const t = this.peek();
    if (t?.t === OP && (t.v === '-' || t.v === '+' || t.v === '~')) {
      this.pos++;
      return { k: 'UnaryOp', op: t.v, operand: this.factor() };
    }
    return this.power();
  }

  private power(): Node {
    let base: Node;
    if (this.atName('await')) {
      this.pos++;
      base = { k: 'Other', what: 'Await', children: [this.primary()] };
    } else base = this.primary();
    if (this.atOp('**')) {
      this.pos++;
      return { k: 'Other', what: 'BinOp', children: [base, this.factor()] };
    }
    return base;
  }

  private primary(): Node {
    let node = this.atom();
    for (;;) {
      if (this.atOp('.')) {
        this.pos++;
        const t = this.peek();
        if (t?.t !== NAME) unsupported('attribute name');
        this.pos++;
        node = { k: 'Attribute', value: node, attr: t!.v };
      } else if (this.atOp('(')) {
        this.pos++;
        node = this.callArgs(node);
      } else if (this.atOp('[')) {
        this.pos++;
        const slice = this.slices();
        this.expectOp(']');
        node = { k: 'Subscript', value: node, slice };
      } else return node;
    }
  }

  private callArgs(func: Node): Node {
    const args: Node[] = [];
    const keywords: Node[] = [];
    while (!this.atOp(')')) {
      if (this.atOp('**')) {
        this.pos++;
        keywords.push(this.expression());
      } else if (this.atOp('*')) {
        this.pos++;
        args.push({ k: 'Other', what: 'Starred', children: [this.expression()] });
      } else if (this.peek()?.t === NAME && this.atOp('=', 1)) {
        this.pos += 2;
        keywords.push(this.expression());
      } else {
        const arg = this.namedExpression();
        if (this.atName('for') || this.atName('async')) args.push(this.comprehension('GeneratorExp', [arg]));
        else args.push(arg);
      }
      if (!this.atOp(',')) break;
      this.pos++;
    }
    this.expectOp(')');
    return { k: 'Call', func, args, keywords };
  }

  private slices(): Node {
    const first = this.slice();
    if (!this.atOp(',')) return first;
    const elts = [first];
    while (this.atOp(',')) {
      this.pos++;
      if (this.atOp(']')) break;
      elts.push(this.slice());
    }
    return { k: 'Tuple', elts };
  }

  private slice(): Node {
    const children: Node[] = [];
    let isSlice = false;
    if (!this.atOp(':')) {
      if (this.atOp('*')) {
        this.pos++;
        return { k: 'Other', what: 'Starred', children: [this.bitOr()] };
      }
      const e = this.namedExpression();
      if (!this.atOp(':')) return e;
      children.push(e);
    }
    while (this.atOp(':')) {
      isSlice = true;
      this.pos++;
      if (!this.atOp(':') && !this.atOp(']') && !this.atOp(',')) children.push(this.expression());
    }
    return { k: 'Other', what: isSlice ? 'Slice' : 'Expr', children };
  }

  /** After the first element of a `(` or `[` display: a comprehension (`comp`), or the elements up to `close` (consumed). */
  private displayRest(first: Node, close: string, comp: string): Node | Node[] {
    if (this.atName('for') || this.atName('async')) {
      const c = this.comprehension(comp, [first]);
      this.expectOp(close);
      return c;
    }
    const elts = [first];
    while (this.atOp(',')) {
      this.pos++;
      if (this.atOp(close)) break;
      elts.push(this.starExpression());
    }
    this.expectOp(close);
    return elts;
  }

  /** Comprehension clauses after `elt` (the parser is at `for` / `async`). */
  private comprehension(what: string, elts: Node[]): Node {
    const children = [...elts];
    while (this.atName('for') || this.atName('async')) {
      if (this.atName('async')) this.pos++;
      this.pos++; // for
      children.push(this.targetList());
      if (!this.atName('in')) unsupported('comprehension without in');
      this.pos++;
      children.push(this.disjunction());
      while (this.atName('if')) {
        this.pos++;
        children.push(this.disjunction());
      }
    }
    return { k: 'Other', what, children };
  }

  /** star_targets of a `for`: bitwise-or level expressions, commas making a Tuple. */
  private targetList(): Node {
    const one = () => {
      if (this.atOp('*')) {
        this.pos++;
        return { k: 'Other', what: 'Starred', children: [this.bitOr()] } as Node;
      }
      return this.bitOr();
    };
    const first = one();
    if (!this.atOp(',')) return first;
    const elts = [first];
    while (this.atOp(',')) {
      this.pos++;
      if (this.atName('in')) break;
      elts.push(one());
    }
    return { k: 'Tuple', elts };
  }

  private atom(): Node {
    const t = this.peek();
    if (!t) return unsupported('expression expected');
    if (t.t === NAME) {
      if (t.v === 'None' || t.v === 'True' || t.v === 'False') {
        this.pos++;
        return { k: 'Constant', kind: t.v, value: undefined, falsy: t.v !== 'True' };
      }
      if (KEYWORDS.has(t.v)) unsupported(`keyword ${t.v} in an expression`);
      this.pos++;
      return { k: 'Name', id: t.v };
    }
    if (t.t === NUMBER) {
      this.pos++;
      return { k: 'Constant', kind: 'num', value: t.v, falsy: numberFalsy(t.v) };
    }
    if (t.t === STRING) {
      // Implicit concatenation: one Constant, or a JoinedStr when any part is an f-string.
      let value: string | undefined = '';
      let joined = false;
      let fields = false;
      const bytes = t.str!.bytes;
      while (this.peek()?.t === STRING) {
        const s = this.peek()!.str!;
        this.pos++;
        if (s.f) joined = true;
        if (s.fields) fields = true;
        value = value === undefined || s.value === undefined ? undefined : value + s.value;
      }
      if (joined) return { k: 'Other', what: 'JoinedStr', children: [], opaque: fields };
      // An undecodable value is still known to be non-empty (it has an escape).
      return { k: 'Constant', kind: bytes ? 'bytes' : 'str', value, falsy: value === '' };
    }
    if (t.v === '...') {
      this.pos++;
      return { k: 'Constant', kind: 'Ellipsis', value: undefined, falsy: false };
    }
    if (t.v === '(') {
      this.pos++;
      if (this.atOp(')')) {
        this.pos++;
        return { k: 'Tuple', elts: [] };
      }
      if (this.atName('yield')) {
        const y = this.expression();
        this.expectOp(')');
        return y;
      }
      const first = this.starExpression();
      if (this.atOp(')')) {
        this.pos++;
        return first; // parenthesized, not a tuple
      }
      const rest = this.displayRest(first, ')', 'GeneratorExp');
      return Array.isArray(rest) ? { k: 'Tuple', elts: rest } : rest;
    }
    if (t.v === '[') {
      this.pos++;
      if (this.atOp(']')) {
        this.pos++;
        return { k: 'List', elts: [] };
      }
      const rest = this.displayRest(this.starExpression(), ']', 'ListComp');
      return Array.isArray(rest) ? { k: 'List', elts: rest } : rest;
    }
    if (t.v === '{') {
      this.pos++;
      if (this.atOp('}')) {
        this.pos++;
        return { k: 'Other', what: 'Dict', children: [] };
      }
      const children: Node[] = [];
      let dict = false;
      const item = () => {
        if (this.atOp('**')) {
          this.pos++;
          dict = true;
          children.push(this.bitOr());
          return;
        }
        const key = this.starExpression();
        children.push(key);
        if (this.atOp(':')) {
          this.pos++;
          dict = true;
          children.push(this.expression());
        }
      };
      item();
      if (this.atName('for') || this.atName('async')) {
        const c = this.comprehension(dict ? 'DictComp' : 'SetComp', children);
        this.expectOp('}');
        return c;
      }
      while (this.atOp(',')) {
        this.pos++;
        if (this.atOp('}')) break;
        item();
      }
      this.expectOp('}');
      return dict ? { k: 'Other', what: 'Dict', children } : { k: 'Set', elts: children };
    }
    return unsupported(`unexpected ${t.v}`);
  }
}

// --- statements -------------------------------------------------------------------

interface Alias {
  name: string;
  asname: string | undefined;
}

/**
 * An expression kept as its tokens and parsed only when a rule needs its
 * structure (most module-level statements never do: see `mentions`). Parsing
 * on demand keeps the parser cold, and V8's optimizing compiler with it, which
 * is most of the scan's cost on a first (cold) pass.
 */
interface Lazy {
  toks: Tok[];
  start: number;
  end: number;
  /** How to parse it: a test (`named_expression`) or an assignment side (`star_expressions`, or a yield). */
  test: boolean;
  node?: Node;
}

function nodeOf(lazy: Lazy): Node {
  if (lazy.node) return lazy.node;
  const p = new Parser(lazy.toks, lazy.start, lazy.end);
  const node = lazy.test ? p.namedExpression() : p.atName('yield') ? p.expression() : p.starExpressions();
  if (!p.done()) unsupported('trailing tokens in an expression');
  return (lazy.node = node);
}

/** Does the expression hold one of these names (as a NAME token)? For one parsed with others (a lambda's statement), their names count too: that only means parsing, and it is parsed. */
function mentions(lazy: Lazy, ...sets: ReadonlySet<string>[]): boolean {
  for (let j = lazy.start; j < lazy.end; j++) {
    const t = lazy.toks[j];
    if (t.t === NAME) for (const set of sets) if (set.has(t.v)) return true;
  }
  return false;
}

/**
 * The expression's Constant node when it is one, from its tokens: a number,
 * None/True/False/..., or (concatenated) plain strings; parsed when it starts
 * with a parenthesis; undefined when it cannot be a Constant.
 */
function constantOf(lazy: Lazy): (Node & { k: 'Constant' }) | undefined {
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

const CONSTANT_NAMES = new Set(['None', 'True', 'False']);

type Stmt =
  | { k: 'import'; line: number; names: Alias[] }
  | { k: 'from'; line: number; module: string; level: number; names: Alias[] }
  | { k: 'assign'; line: number; targets: Lazy[]; value: Lazy | null; ann: boolean }
  | { k: 'expr'; line: number; value: Lazy }
  | { k: 'def'; body: Stmt[] }
  | { k: 'class'; body: Stmt[] }
  | { k: 'if'; test: Lazy | null; body: Stmt[]; orelse: Stmt[] }
  | { k: 'try'; handlers: { type: Node | null; body: Stmt[] }[]; body: Stmt[]; orelse: Stmt[]; finalbody: Stmt[] }
  | { k: 'block'; bodies: Stmt[][] }
  | { k: 'other' };

const COMPOUND = new Set(['if', 'while', 'for', 'try', 'with', 'def', 'class', 'async']);
const CLAUSES = new Set(['else', 'elif', 'except', 'finally', 'case']);
const AUG_ASSIGN = new Set(['+=', '-=', '*=', '/=', '//=', '%=', '@=', '&=', '|=', '^=', '>>=', '<<=', '**=']);

class Builder {
  constructor(readonly lines: LogicalLine[]) {}

  /** Index of the first `:` at depth 0 that no lambda after `from` claims: a header's (or, from just after a `lambda`, that lambda's). */
  headerColon(toks: Tok[], from: number, end = toks.length): number {
    let depth = 0;
    let lambdas = 0;
    for (let j = from; j < end; j++) {
      const t = toks[j];
      if (t.t === NAME) {
        if (t.v === 'lambda' && depth === 0) lambdas++;
        continue;
      }
      if (t.t !== OP) continue;
      const v = t.v;
      if (v === '(' || v === '[' || v === '{') depth++;
      else if (v === ')' || v === ']' || v === '}') depth--;
      else if (v === ':' && depth === 0) {
        if (lambdas === 0) return j;
        lambdas--;
      }
    }
    return unsupported('header without colon');
  }

  /** Parses the suite of the header at line `li` (inline after the colon, or the indented block). Returns [stmts, next line]. */
  suite(li: number, colon: number, fn: boolean): [Stmt[], number] {
    const toks = this.lines[li].toks;
    if (colon + 1 < toks.length) return [this.simpleStatements(toks, colon + 1, fn), li + 1];
    const next = li + 1;
    if (next >= this.lines.length || this.lines[next].indent <= this.lines[li].indent) {
      if (this.lines[li].skipped) return [[], next]; // a function body without imports
      unsupported('empty suite');
    }
    return this.block(next, fn);
  }

  /** The statements of the block starting at line `li` (all lines at its indentation). */
  block(li: number, fn: boolean): [Stmt[], number] {
    const indent = this.lines[li].indent;
    const out: Stmt[] = [];
    while (li < this.lines.length && this.lines[li].indent === indent) {
      li = this.statement(li, fn, out);
    }
    if (li < this.lines.length && this.lines[li].indent > indent) unsupported(`unexpected indent at line ${this.lines[li].toks[0].line}`);
    return [out, li];
  }

  private keyword(li: number): string | undefined {
    const t = this.lines[li]?.toks[0];
    return t?.t === NAME ? t.v : undefined;
  }

  private isMatch(li: number): boolean {
    const line = this.lines[li];
    const last = line.toks[line.toks.length - 1];
    if (line.toks.length < 3 || last.t !== OP || last.v !== ':') return false;
    const second = line.toks[1];
    if (second.t === OP && !['(', '[', '{', '-', '+', '*', '~', '...'].includes(second.v)) return false;
    const next = this.lines[li + 1];
    return next !== undefined && next.indent > line.indent && next.toks[0].t === NAME && next.toks[0].v === 'case';
  }

  /** Parses the statement at line `li` into `out`; returns the next line index. */
  statement(li: number, fn: boolean, out: Stmt[]): number {
    const line = this.lines[li];
    const toks = line.toks;
    let kw = this.keyword(li);
    if (kw === 'match' && this.isMatch(li)) {
      const [cases, next] = this.matchCases(li + 1, fn);
      out.push({ k: 'block', bodies: cases });
      return next;
    }
    if (toks[0].t === OP && toks[0].v === '@') return li + 1; // decorator: its def/class follows
    if (fn && kw !== undefined && CLAUSES.has(kw)) {
      // A skimmed function body keeps only lines with imports, flattened: a
      // clause (`else: import x`) comes without its compound statement.
      const colon = kw === 'case' ? this.caseColon(toks) : this.headerColon(toks, 1);
      if (colon >= 0) {
        out.push(...this.simpleStatements(toks, colon + 1, fn));
        return li + 1;
      }
    }
    if (kw === undefined || !COMPOUND.has(kw)) {
      out.push(...this.simpleStatements(toks, 0, fn));
      return li + 1;
    }
    let first = 0;
    if (kw === 'async') {
      first = 1;
      kw = toks[1]?.t === NAME ? toks[1].v : undefined;
      if (kw !== 'def' && kw !== 'for' && kw !== 'with') unsupported('async');
    }
    const colon = this.headerColon(toks, first + 1);
    if (kw === 'def' || kw === 'class') {
      const [body, next] = this.suite(li, colon, kw === 'def' || fn);
      out.push(kw === 'def' ? { k: 'def', body } : { k: 'class', body });
      return next;
    }
    if (kw === 'if') return this.ifChain(li, first, colon, fn, out);
    if (kw === 'try') return this.tryStmt(li, colon, fn, out);
    // while / for / with: a body, and for loops an else
    const [body, next] = this.suite(li, colon, fn);
    const bodies = [body];
    let after = next;
    if ((kw === 'while' || kw === 'for') && this.clause(after, line.indent) === 'else') {
      const elseColon = this.headerColon(this.lines[after].toks, 1);
      const [orelse, n2] = this.suite(after, elseColon, fn);
      bodies.push(orelse);
      after = n2;
    }
    out.push({ k: 'block', bodies });
    return after;
  }

  /** The keyword of line `li` when it continues a compound statement at `indent`. */
  private clause(li: number, indent: number): string | undefined {
    const line = this.lines[li];
    if (!line || line.indent !== indent) return undefined;
    const kw = this.keyword(li);
    return kw === 'elif' || kw === 'else' || kw === 'except' || kw === 'finally' ? kw : undefined;
  }

  private ifChain(li: number, first: number, colon: number, fn: boolean, out: Stmt[]): number {
    const indent = this.lines[li].indent;
    const test: Lazy | null = fn ? null : { toks: this.lines[li].toks, start: first + 1, end: colon, test: true, node: undefined };
    const [body, next] = this.suite(li, colon, fn);
    const stmt: Stmt = { k: 'if', test, body, orelse: [] };
    out.push(stmt);
    const c = this.clause(next, indent);
    if (c === 'elif') return this.ifChain(next, 0, this.headerColon(this.lines[next].toks, 1), fn, stmt.orelse);
    if (c === 'else') {
      const [orelse, n2] = this.suite(next, this.headerColon(this.lines[next].toks, 1), fn);
      stmt.orelse = orelse;
      return n2;
    }
    return next;
  }

  private tryStmt(li: number, colon: number, fn: boolean, out: Stmt[]): number {
    const indent = this.lines[li].indent;
    const [body, n1] = this.suite(li, colon, fn);
    const stmt: Stmt = { k: 'try', body, handlers: [], orelse: [], finalbody: [] };
    let next = n1;
    for (;;) {
      const c = this.clause(next, indent);
      if (c !== 'except') break;
      const toks = this.lines[next].toks;
      const hc = this.headerColon(toks, 1);
      let start = 1;
      if (toks[1]?.t === OP && toks[1].v === '*') start = 2;
      let type: Node | null = null;
      if (!fn && start < hc) {
        // `except T as name:` — the type ends at `as`
        let end = hc;
        for (let j = start; j < hc; j++) if (toks[j].t === NAME && toks[j].v === 'as') end = j;
        const p = new Parser(toks, start, end);
        type = p.starExpressions();
        if (!p.done()) unsupported('except clause');
      }
      const [hbody, n2] = this.suite(next, hc, fn);
      stmt.handlers.push({ type, body: hbody });
      next = n2;
    }
    if (this.clause(next, indent) === 'else') {
      const [orelse, n3] = this.suite(next, this.headerColon(this.lines[next].toks, 1), fn);
      stmt.orelse = orelse;
      next = n3;
    }
    if (this.clause(next, indent) === 'finally') {
      const [finalbody, n4] = this.suite(next, this.headerColon(this.lines[next].toks, 1), fn);
      stmt.finalbody = finalbody;
      next = n4;
    }
    out.push(stmt);
    return next;
  }

  /** The `:` of a `case` line: the pattern holds no keyword but None/True/False; a guard starts at `if`. -1 if none. */
  private caseColon(toks: Tok[]): number {
    let depth = 0;
    for (let j = 1; j < toks.length; j++) {
      const t = toks[j];
      if (t.t === OP && (t.v === '(' || t.v === '[' || t.v === '{')) depth++;
      else if (t.t === OP && (t.v === ')' || t.v === ']' || t.v === '}')) depth--;
      else if (depth === 0 && t.t === NAME && t.v === 'if') return this.headerColon(toks, j + 1);
      else if (depth === 0 && t.t === OP && t.v === ':') return j;
    }
    return -1;
  }

  private matchCases(li: number, fn: boolean): [Stmt[][], number] {
    const indent = this.lines[li].indent;
    const cases: Stmt[][] = [];
    while (li < this.lines.length && this.lines[li].indent === indent && this.keyword(li) === 'case') {
      const toks = this.lines[li].toks;
      const colon = this.caseColon(toks);
      if (colon < 0) unsupported('case without colon');
      const [body, next] = this.suite(li, colon, fn);
      cases.push(body);
      li = next;
    }
    if (!cases.length) unsupported('match without case');
    return [cases, li];
  }

  /** Simple statements separated by `;` from toks[from]. */
  simpleStatements(toks: Tok[], from: number, fn: boolean): Stmt[] {
    const out: Stmt[] = [];
    let start = from;
    let depth = 0;
    for (let j = from; j <= toks.length; j++) {
      const t = toks[j];
      if (t && t.t === OP) {
        if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
        else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
      }
      if (j === toks.length || (depth === 0 && t.t === OP && t.v === ';')) {
        if (j > start) {
          const s = this.simple(toks, start, j, fn);
          if (s) out.push(s);
        }
        start = j + 1;
      }
    }
    return out;
  }

  private simple(toks: Tok[], start: number, end: number, fn: boolean): Stmt | undefined {
    const t = toks[start];
    const line = t.line;
    if (t.t === NAME && t.v === 'import') return { k: 'import', line, names: this.aliases(toks, start + 1, end, true) };
    if (t.t === NAME && t.v === 'from') {
      let j = start + 1;
      let level = 0;
      while (j < end && toks[j].t === OP && (toks[j].v === '.' || toks[j].v === '...')) {
        level += toks[j].v.length;
        j++;
      }
      let module = '';
      while (j < end && !(toks[j].t === NAME && toks[j].v === 'import')) {
        module += toks[j].v;
        j++;
      }
      if (j >= end) unsupported('from without import');
      j++;
      if (j < end && toks[j].t === OP && toks[j].v === '(') {
        j++;
        end--; // the closing parenthesis
      }
      return { k: 'from', line, module, level, names: this.aliases(toks, j, end, false) };
    }
    if (fn) return undefined;
    if (t.t === NAME) {
      if (['pass', 'break', 'continue', 'return', 'raise', 'global', 'nonlocal', 'del', 'assert'].includes(t.v)) return { k: 'other' };
      if (t.v === 'type' && toks[start + 1]?.t === NAME) return { k: 'other' }; // type alias (3.12)
    }
    // The statement's shape from its top-level `=`, `:` and augmented-assignment
    // tokens; its parts are parsed only if a rule needs them (see Lazy).
    const lazy = (a: number, b: number): Lazy => {
      if (a >= b) unsupported('empty expression');
      return { toks, start: a, end: b, test: false, node: undefined };
    };
    const equals: number[] = [];
    let colon = -1;
    let depth = 0;
    for (let j = start; j < end; j++) {
      const tok = toks[j];
      if (tok.t === NAME) {
        // A lambda's parameters hold `=` (defaults) and end at its `:`: step over them.
        if (depth === 0 && tok.v === 'lambda') j = this.headerColon(toks, j + 1, end);
        continue;
      }
      if (tok.t !== OP) continue;
      const v = tok.v;
      if (v === '(' || v === '[' || v === '{') depth++;
      else if (v === ')' || v === ']' || v === '}') depth--;
      else if (depth === 0) {
        if (v === '=') equals.push(j);
        else if (v === ':' && colon < 0 && !equals.length) colon = j;
        else if (AUG_ASSIGN.has(v) && !equals.length && colon < 0) return { k: 'other' };
      }
    }
    if (colon >= 0) {
      // `target: annotation [= value]`
      const eq = equals[0];
      return { k: 'assign', line, targets: [lazy(start, colon)], value: eq === undefined ? null : lazy(eq + 1, end), ann: true };
    }
    if (!equals.length) return { k: 'expr', line, value: lazy(start, end) };
    const bounds = [start - 1, ...equals, end];
    const parts = bounds.slice(1).map((b, i) => lazy(bounds[i] + 1, b));
    return { k: 'assign', line, targets: parts.slice(0, -1), value: parts[parts.length - 1], ann: false };
  }

  private aliases(toks: Tok[], start: number, end: number, dotted: boolean): Alias[] {
    const out: Alias[] = [];
    let j = start;
    while (j < end) {
      let name = '';
      while (j < end && !(toks[j].t === OP && toks[j].v === ',') && !(toks[j].t === NAME && toks[j].v === 'as' && name !== '')) {
        name += toks[j].v;
        j++;
      }
      let asname: string | undefined;
      if (j < end && toks[j].t === NAME && toks[j].v === 'as') {
        asname = toks[j + 1]?.v;
        j += 2;
      }
      if (name) out.push({ name, asname });
      if (j < end && toks[j].t === OP && toks[j].v === ',') j++;
    }
    if (!out.length) unsupported('import without names');
    if (!dotted && out.some((a) => a.name.includes('.'))) unsupported('dotted from-import name');
    return out;
  }
}

// --- the scan: src/python/imports.py's rules, over the structures above ----------------

const GUARD_EXCEPTIONS = new Set(['ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException']);
const PLATFORM_MODULES = new Set(['sys', '_sys', 'os', '_os', 'platform']);
const PLATFORM_ATTRS = new Set(['platform', 'name', 'implementation', 'version_info', 'system', 'getwindowsversion', 'hexversion', 'flags', 'builtin_module_names']);
const DYNAMIC_CALLS = new Set(['import_module', '__import__']);
const WASM_OS_NAME = 'posix';
const WASM_PLATFORMS = ['emscripten', 'wasi'];

interface Flags {
  names: Set<string>;
  falsy: Set<string>;
  wasm: Map<string, boolean>;
  /** Module-level names bound to the sys module (`import sys as _sys`). */
  sys: Set<string>;
}

const newFlags = (): Flags => ({ names: new Set(), falsy: new Set(), wasm: new Map(), sys: new Set() });

type Rec = ImportRecord;

function walk(body: Stmt[], conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  for (const stmt of body) {
    switch (stmt.k) {
      case 'import':
        for (const alias of stmt.names) {
          const rec: Rec = { name: alias.name, level: 0, names: [], conditional, line: stmt.line };
          if (conditional && !wasm) rec.onWasm = true;
          out.push(rec);
          if (guarded) flags.names.add(alias.asname ?? alias.name.split('.')[0]);
          if (top && alias.name === 'sys') flags.sys.add(alias.asname ?? 'sys');
        }
        break;
      case 'from': {
        const rec: Rec = { name: stmt.module, level: stmt.level, names: stmt.names.map((a) => a.name), conditional, line: stmt.line };
        if (conditional && !wasm) rec.onWasm = true;
        out.push(rec);
        if (guarded) for (const alias of stmt.names) flags.names.add(alias.asname ?? alias.name);
        break;
      }
      case 'def':
        collect(stmt.body, out);
        break;
      case 'class':
        walk(stmt.body, conditional, wasm, false, false, out, flags);
        break;
      case 'if': {
        const test = stmt.test!;
        const kind = classifyLazy(test, flags);
        if (kind === 'platform') {
          const value = wasmValue(nodeOf(test), flags);
          walk(stmt.body, true, value === true ? wasm : true, top, top, out, flags);
          walk(stmt.orelse, true, value === false ? wasm : true, top, top, out, flags);
        } else if (kind === 'skip-body') {
          walk(stmt.body, true, true, top, false, out, flags);
          walk(stmt.orelse, conditional, wasm, top, guarded, out, flags);
        } else {
          walk(stmt.body, conditional, wasm, top, guarded, out, flags);
          walk(stmt.orelse, conditional, wasm, top, guarded, out, flags);
        }
        break;
      }
      case 'try': {
        const guard = stmt.handlers.some((h) => catchesImportError(h.type));
        const inner = conditional || guard;
        const winner = wasm || guard;
        const g = guarded || (top && guard);
        walk(stmt.body, inner, winner, top, g, out, flags);
        for (const h of stmt.handlers) walk(h.body, true, true, top, g, out, flags);
        walk(stmt.orelse, inner, winner, top, g, out, flags);
        walk(stmt.finalbody, conditional, wasm, top, guarded, out, flags);
        break;
      }
      case 'block':
        for (const b of stmt.bodies) walk(b, conditional, wasm, top, guarded, out, flags);
        break;
      case 'assign':
      case 'expr': {
        const lazy = stmt.value;
        if (lazy === null) break;
        if (mentions(lazy, DYNAMIC_CALLS)) {
          const value = nodeOf(lazy);
          if (value.k === 'Call' && (value.func.k === 'Name' || value.func.k === 'Attribute')) dynamic(value, conditional, stmt.line, out);
        }
        if (top && stmt.k === 'assign' && !stmt.ann && flags.sys.size) registers(stmt, conditional, wasm, flags.sys, out);
        if (top && stmt.k === 'assign') {
          // Only names of PLATFORM_MODULES or flags can make a platform test (see `platform`).
          const platform = mentions(lazy, PLATFORM_MODULES, flags.names) && classify(nodeOf(lazy), flags) === 'platform';
          if (guarded || platform) bind(stmt.targets.map(nodeOf), flags);
          bindConstant(stmt, lazy, flags, platform && !guarded);
        }
        break;
      }
    }
  }
}

/** Every import under a function body: all conditional. */
function collect(body: Stmt[], out: Rec[]): void {
  for (const stmt of body) {
    switch (stmt.k) {
      case 'import':
        for (const alias of stmt.names) out.push({ name: alias.name, level: 0, names: [], conditional: true, line: stmt.line });
        break;
      case 'from':
        out.push({ name: stmt.module, level: stmt.level, names: stmt.names.map((a) => a.name), conditional: true, line: stmt.line });
        break;
      case 'def':
      case 'class':
        collect(stmt.body, out);
        break;
      case 'if':
        collect(stmt.body, out);
        collect(stmt.orelse, out);
        break;
      case 'try':
        collect(stmt.body, out);
        for (const h of stmt.handlers) collect(h.body, out);
        collect(stmt.orelse, out);
        collect(stmt.finalbody, out);
        break;
      case 'block':
        for (const b of stmt.bodies) collect(b, out);
        break;
    }
  }
}

const isAttr = (node: Node, attr: string) => node.k === 'Attribute' && node.attr === attr && node.value.k === 'Name' && PLATFORM_MODULES.has(node.value.id);

function known(node: Node & { k: 'Constant' }): string {
  if (node.value === undefined) unsupported('undecoded string in a test');
  return node.value!;
}

function strings(node: Node): string[] | undefined {
  if (node.k === 'Constant' && node.kind === 'str') return [known(node)];
  if (node.k === 'Tuple' || node.k === 'List' || node.k === 'Set') {
    if (node.elts.every((e) => e.k === 'Constant' && e.kind === 'str')) return node.elts.map((e) => known(e as Node & { k: 'Constant' }));
  }
  return undefined;
}

const allOrNone = (results: boolean[]): boolean | undefined => (results.every(Boolean) ? true : !results.some(Boolean) ? false : undefined);

function wasmValue(node: Node, flags: Flags): boolean | undefined {
  switch (node.k) {
    case 'Compare': {
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

function catchesImportError(node: Node | null): boolean {
  if (node === null) return true;
  if (node.k === 'Tuple') return node.elts.some(catchesImportError);
  if (node.k === 'Name') return GUARD_EXCEPTIONS.has(node.id);
  if (node.k === 'Attribute') return GUARD_EXCEPTIONS.has(node.attr);
  return false;
}

function classify(test: Node, flags: Flags): 'platform' | 'skip-body' | undefined {
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
function classifyLazy(test: Lazy, flags: Flags): 'platform' | 'skip-body' | undefined {
  if (mentions(test, PLATFORM_MODULES, flags.names, flags.falsy, SKIP_NAMES)) return classify(nodeOf(test), flags);
  const constant = constantOf(test);
  return constant?.falsy ? 'skip-body' : undefined;
}

const SKIP_NAMES = new Set(['TYPE_CHECKING', '__name__']);

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

/** The target's name when it is a plain name (`x` or `(x)`). */
function singleName(target: Lazy): string | undefined {
  if (target.node) return target.node.k === 'Name' ? target.node.id : undefined;
  const first = target.toks[target.start];
  if (target.end - target.start === 1) return first.t === NAME ? first.v : undefined;
  if (first.t !== OP || first.v !== '(') return undefined;
  const node = nodeOf(target);
  return node.k === 'Name' ? node.id : undefined;
}

function bindConstant(stmt: Stmt & { k: 'assign' }, value: Lazy, flags: Flags, isPlatform: boolean): void {
  if (stmt.targets.length !== 1) return;
  const name = singleName(stmt.targets[0]);
  if (name === undefined) return;
  if (constantOf(value)?.falsy) flags.falsy.add(name);
  else flags.falsy.delete(name);
  const decided = isPlatform ? wasmValue(nodeOf(value), flags) : undefined;
  if (decided === undefined) flags.wasm.delete(name);
  else flags.wasm.set(name, decided);
}

/** Every Name in the targets (ast.walk). */
function bind(targets: Node[], flags: Flags): void {
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

/** Each target `<sys>.modules['a.b']` of an assignment: the module registers `a.b` itself. */
function registers(stmt: Stmt & { k: 'assign' }, conditional: boolean, wasm: boolean, sysNames: Set<string>, out: Rec[]): void {
  for (const target of stmt.targets) {
    if (!mentions(target, sysNames)) continue;
    const node = nodeOf(target);
    if (node.k !== 'Subscript' || node.value.k !== 'Attribute' || node.value.attr !== 'modules') continue;
    const seq = node.value.value;
    const key = node.slice;
    if (seq.k !== 'Name' || !sysNames.has(seq.id) || key.k !== 'Constant' || key.kind !== 'str') continue;
    const name = known(key);
    if (!name) continue;
    const rec: Rec = { name, level: 0, names: [], conditional, line: stmt.line, registers: true };
    if (conditional && !wasm) rec.onWasm = true;
    out.push(rec);
  }
}

function dynamic(call: Node & { k: 'Call' }, conditional: boolean, line: number, out: Rec[]): void {
  const f = call.func;
  const name = f.k === 'Attribute' ? f.attr : f.k === 'Name' ? f.id : undefined;
  if (name === undefined || !DYNAMIC_CALLS.has(name) || !call.args.length) return;
  const arg = call.args[0];
  if (arg.k === 'Constant' && arg.kind === 'str') {
    const value = known(arg);
    if (value && !value.startsWith('.')) out.push({ name: value, level: 0, names: [], conditional, line, dynamic: true });
  }
}

// --- entry point ------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CODING_RE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'utf_8', 'u8', 'utf', 'cp65001']);

/** The source as text, or undefined when it is not UTF-8 (or declares another encoding). */
function decode(source: Uint8Array | string): string | undefined {
  if (typeof source === 'string') return source;
  let text: string;
  try {
    text = UTF8.decode(source);
  } catch {
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // PEP 263: a coding cookie on line 1 or 2 (line 2 only after a comment or blank line 1).
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const second = nl < 0 ? '' : text.slice(nl + 1, text.indexOf('\n', nl + 1) >>> 0);
  for (const line of /^[ \t\f]*(#.*)?\r?$/.test(first) ? [first, second] : [first]) {
    const m = CODING_RE.exec(line);
    if (m) {
      const name = m[1].toLowerCase().replace(/_/g, '-');
      const ascii = name === 'ascii' || name === 'us-ascii' || name === 'latin-1' || name === 'iso-8859-1' || name === 'latin1' || name === 'iso8859-1';
      if (UTF8_NAMES.has(m[1].toLowerCase()) || name === 'utf-8' || name.startsWith('utf-8-')) return text;
      // latin-1/ascii sources that are pure ASCII read the same
      if (ascii && /^[\x00-\x7f]*$/.test(text)) return text;
      return undefined;
    }
  }
  return text;
}

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
    const builder = new Builder(lines);
    if (lines[0].indent !== 0) unsupported('indented first line');
    const [body, next] = builder.block(0, false);
    if (next !== lines.length) unsupported('trailing lines');
    const out: Rec[] = [];
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
    const [body] = new Builder(lines).block(0, false);
    walk(body, false, false, true, false, [], newFlags());
    return undefined;
  } catch (error) {
    if (error instanceof Unsupported) return error.message;
    throw error;
  }
}
