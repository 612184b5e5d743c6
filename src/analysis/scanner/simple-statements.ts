/**
 * Simple statements: a logical line (or what follows a header's colon) split
 * at its top-level `;`, each statement kept as what the scan rules read:
 * imports with their aliases, assignments and expression statements as Lazy
 * parts, everything else as `other`. In a skimmed function body (`fn`) only
 * the imports are kept.
 */
import { headerColon } from './colons.js';
import { lazyRange, type Lazy } from './lazy.js';
import type { Alias, Stmt } from './statements.js';
import { NAME, OP, unsupported, type Tok } from './tokens.js';

const AUG_ASSIGN = new Set(['+=', '-=', '*=', '/=', '//=', '%=', '@=', '&=', '|=', '^=', '>>=', '<<=', '**=']);
const OTHER_KEYWORDS = new Set(['pass', 'break', 'continue', 'return', 'raise', 'global', 'nonlocal', 'del', 'assert']);

/** Simple statements separated by `;` from toks[from]. */
export function simpleStatements(toks: Tok[], from: number, fn: boolean): Stmt[] {
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
        const s = simple(toks, start, j, fn);
        if (s) out.push(s);
      }
      start = j + 1;
    }
  }
  return out;
}

function simple(toks: Tok[], start: number, end: number, fn: boolean): Stmt | undefined {
  const t = toks[start];
  if (t.t === NAME && t.v === 'import') return { k: 'import', line: t.line, names: aliases(toks, start + 1, end, true) };
  if (t.t === NAME && t.v === 'from') return fromImport(toks, start, end);
  if (fn) return undefined;
  if (t.t === NAME) {
    if (OTHER_KEYWORDS.has(t.v)) return { k: 'other' };
    if (t.v === 'type' && toks[start + 1]?.t === NAME) return { k: 'other' }; // type alias (3.12)
  }
  return assignmentOrExpression(toks, start, end);
}

/** `from .pkg.mod import a as b, c` or `from . import (a, b)`. */
function fromImport(toks: Tok[], start: number, end: number): Stmt {
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
  return { k: 'from', line: toks[start].line, module, level, names: aliases(toks, j, end, false) };
}

function aliases(toks: Tok[], start: number, end: number, dotted: boolean): Alias[] {
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

/**
 * The statement's shape from its top-level `=`, `:` and augmented-assignment
 * tokens: `a = b = value`, `target: annotation [= value]`, an expression, or
 * (augmented) `other`. Its parts are parsed only if a rule needs them (see Lazy).
 */
function assignmentOrExpression(toks: Tok[], start: number, end: number): Stmt {
  const line = toks[start].line;
  const equals: number[] = [];
  let colon = -1;
  let depth = 0;
  for (let j = start; j < end; j++) {
    const tok = toks[j];
    if (tok.t === NAME) {
      // A lambda's parameters hold `=` (defaults) and end at its `:`: step over them.
      if (depth === 0 && tok.v === 'lambda') j = headerColon(toks, j + 1, end);
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
    const eq = equals[0];
    return { k: 'assign', line, targets: [part(toks, start, colon)], value: eq === undefined ? null : part(toks, eq + 1, end), ann: true };
  }
  if (!equals.length) return { k: 'expr', line, value: part(toks, start, end) };
  const targets: Lazy[] = [];
  let from = start;
  for (const eq of equals) {
    targets.push(part(toks, from, eq));
    from = eq + 1;
  }
  return { k: 'assign', line, targets, value: part(toks, from, end), ann: false };
}

/** One side of an assignment, or an expression statement. */
function part(toks: Tok[], start: number, end: number): Lazy {
  if (start >= end) unsupported('empty expression');
  return lazyRange(toks, start, end, false);
}
