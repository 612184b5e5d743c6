/**
 * Logical lines (tokens.ts) → the module's statement structure: blocks by
 * indentation, compound statements with their clauses (if/elif/else, try/
 * except/else/finally, loops with else, with, match/case, def and class), and
 * the simple statements of each line (simple-statements.ts). Only `if` tests and
 * except types are kept among headers, for the scan rules (rules.ts).
 *
 * Plain functions over the file's lines (passed along, no per-file closures);
 * each returns the index of the line after what it consumed.
 */
import { caseColon, headerColon } from './colons.js';
import { Cursor } from './cursor.js';
import type { Node } from './expression.js';
import { lazyRange, type Lazy } from './lazy.js';
import { starExpressions } from './parser.js';
import { simpleStatements } from './simple-statements.js';
import { NAME, OP, unsupported, type LogicalLine, type Tok } from './tokens.js';

export interface Alias {
  name: string;
  asname: string | undefined;
}

export type Stmt =
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

/** The statements of the block starting at line `li` (all lines at its indentation). `fn`: in a (skimmed) function body. */
export function block(lines: LogicalLine[], li: number, fn: boolean): [Stmt[], number] {
  const indent = lines[li].indent;
  const out: Stmt[] = [];
  while (li < lines.length && lines[li].indent === indent) {
    li = statement(lines, li, fn, out);
  }
  if (li < lines.length && lines[li].indent > indent) unsupported(`unexpected indent at line ${lines[li].toks[0].line}`);
  return [out, li];
}

/** The suite of the header at line `li` (inline after the colon, or the indented block). */
function suite(lines: LogicalLine[], li: number, colon: number, fn: boolean): [Stmt[], number] {
  const toks = lines[li].toks;
  if (colon + 1 < toks.length) return [simpleStatements(toks, colon + 1, fn), li + 1];
  const next = li + 1;
  if (next >= lines.length || lines[next].indent <= lines[li].indent) {
    if (lines[li].skipped) return [[], next]; // a function body without imports
    unsupported('empty suite');
  }
  return block(lines, next, fn);
}

/** The suite of a clause whose header is its keyword alone (`else:`, `finally:`) or a keyword and an expression. */
function clauseSuite(lines: LogicalLine[], li: number, fn: boolean): [Stmt[], number] {
  return suite(lines, li, headerColon(lines[li].toks, 1), fn);
}

function keyword(lines: LogicalLine[], li: number): string | undefined {
  const t = lines[li]?.toks[0];
  return t?.t === NAME ? t.v : undefined;
}

/** The keyword of line `li` when it continues a compound statement at `indent`. */
function clause(lines: LogicalLine[], li: number, indent: number): string | undefined {
  const line = lines[li];
  if (!line || line.indent !== indent) return undefined;
  const kw = keyword(lines, li);
  return kw === 'elif' || kw === 'else' || kw === 'except' || kw === 'finally' ? kw : undefined;
}

/** Parses the statement at line `li` into `out`; returns the next line index. */
function statement(lines: LogicalLine[], li: number, fn: boolean, out: Stmt[]): number {
  const toks = lines[li].toks;
  const kw = keyword(lines, li);
  if (kw === 'match' && isMatch(lines, li)) {
    const [cases, next] = matchCases(lines, li + 1, fn);
    out.push({ k: 'block', bodies: cases });
    return next;
  }
  if (toks[0].t === OP && toks[0].v === '@') return li + 1; // decorator: its def/class follows
  if (fn && kw !== undefined && CLAUSES.has(kw)) {
    // A skimmed function body keeps only lines with imports, flattened: a
    // clause (`else: import x`) comes without its compound statement.
    const colon = kw === 'case' ? caseColon(toks) : headerColon(toks, 1);
    if (colon >= 0) {
      out.push(...simpleStatements(toks, colon + 1, fn));
      return li + 1;
    }
  }
  if (kw === undefined || !COMPOUND.has(kw)) {
    out.push(...simpleStatements(toks, 0, fn));
    return li + 1;
  }
  return compound(lines, li, kw, fn, out);
}

/** A compound statement (`kw` in COMPOUND) at line `li`, with all its clauses. */
function compound(lines: LogicalLine[], li: number, kw: string, fn: boolean, out: Stmt[]): number {
  const toks = lines[li].toks;
  const first = kw === 'async' ? 1 : 0; // the header's keyword is toks[first]
  if (first) {
    kw = toks[1]?.t === NAME ? toks[1].v : '';
    if (kw !== 'def' && kw !== 'for' && kw !== 'with') unsupported('async');
  }
  const colon = headerColon(toks, first + 1);
  if (kw === 'def' || kw === 'class') {
    const [body, next] = suite(lines, li, colon, kw === 'def' || fn);
    out.push(kw === 'def' ? { k: 'def', body } : { k: 'class', body });
    return next;
  }
  if (kw === 'if') return ifChain(lines, li, first, colon, fn, out);
  if (kw === 'try') return tryStmt(lines, li, colon, fn, out);
  return loop(lines, li, kw, colon, fn, out);
}

/** while / for / with: a body, and for loops an else. */
function loop(lines: LogicalLine[], li: number, kw: string, colon: number, fn: boolean, out: Stmt[]): number {
  const indent = lines[li].indent;
  const [body, next] = suite(lines, li, colon, fn);
  const bodies = [body];
  let after = next;
  if ((kw === 'while' || kw === 'for') && clause(lines, after, indent) === 'else') {
    const [orelse, n2] = clauseSuite(lines, after, fn);
    bodies.push(orelse);
    after = n2;
  }
  out.push({ k: 'block', bodies });
  return after;
}

/** `if` and its `elif`s (each the `if` of the previous one's orelse) and `else`. */
function ifChain(lines: LogicalLine[], li: number, first: number, colon: number, fn: boolean, out: Stmt[]): number {
  const indent = lines[li].indent;
  const test: Lazy | null = fn ? null : lazyRange(lines[li].toks, first + 1, colon, true);
  const [body, next] = suite(lines, li, colon, fn);
  const stmt: Stmt = { k: 'if', test, body, orelse: [] };
  out.push(stmt);
  const c = clause(lines, next, indent);
  if (c === 'elif') return ifChain(lines, next, 0, headerColon(lines[next].toks, 1), fn, stmt.orelse);
  if (c === 'else') {
    const [orelse, n2] = clauseSuite(lines, next, fn);
    stmt.orelse = orelse;
    return n2;
  }
  return next;
}

function tryStmt(lines: LogicalLine[], li: number, colon: number, fn: boolean, out: Stmt[]): number {
  const indent = lines[li].indent;
  const [body, n1] = suite(lines, li, colon, fn);
  const stmt: Stmt = { k: 'try', body, handlers: [], orelse: [], finalbody: [] };
  let next = n1;
  while (clause(lines, next, indent) === 'except') {
    const toks = lines[next].toks;
    const hc = headerColon(toks, 1);
    const type = fn ? null : exceptType(toks, hc);
    const [hbody, n2] = suite(lines, next, hc, fn);
    stmt.handlers.push({ type, body: hbody });
    next = n2;
  }
  if (clause(lines, next, indent) === 'else') {
    const [orelse, n3] = clauseSuite(lines, next, fn);
    stmt.orelse = orelse;
    next = n3;
  }
  if (clause(lines, next, indent) === 'finally') {
    const [finalbody, n4] = clauseSuite(lines, next, fn);
    stmt.finalbody = finalbody;
    next = n4;
  }
  out.push(stmt);
  return next;
}

/** The type of an `except [*] T [as name]:` header ending at `colon`, parsed now (a guard's type is always read); null for a bare `except:`. */
function exceptType(toks: Tok[], colon: number): Node | null {
  let start = 1;
  if (toks[1]?.t === OP && toks[1].v === '*') start = 2;
  if (start >= colon) return null;
  // `except T as name:` — the type ends at `as`
  let end = colon;
  for (let j = start; j < colon; j++) if (toks[j].t === NAME && toks[j].v === 'as') end = j;
  const p = new Cursor(toks, start, end);
  const type = starExpressions(p);
  if (!p.done()) unsupported('except clause');
  return type;
}

/** Is line `li`, which starts with the soft keyword `match`, a match statement (not `match(x)` or `match = 0`)? */
function isMatch(lines: LogicalLine[], li: number): boolean {
  const line = lines[li];
  const last = line.toks[line.toks.length - 1];
  if (line.toks.length < 3 || last.t !== OP || last.v !== ':') return false;
  const second = line.toks[1];
  if (second.t === OP && !['(', '[', '{', '-', '+', '*', '~', '...'].includes(second.v)) return false;
  const next = lines[li + 1];
  return next !== undefined && next.indent > line.indent && next.toks[0].t === NAME && next.toks[0].v === 'case';
}

/** The `case` clauses from line `li`: one body each. */
function matchCases(lines: LogicalLine[], li: number, fn: boolean): [Stmt[][], number] {
  const indent = lines[li].indent;
  const cases: Stmt[][] = [];
  while (li < lines.length && lines[li].indent === indent && keyword(lines, li) === 'case') {
    const colon = caseColon(lines[li].toks);
    if (colon < 0) unsupported('case without colon');
    const [body, next] = suite(lines, li, colon, fn);
    cases.push(body);
    li = next;
  }
  if (!cases.length) unsupported('match without case');
  return [cases, li];
}
