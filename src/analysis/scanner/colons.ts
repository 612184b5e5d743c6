/**
 * Where a header ends: the token scans that find the `:` closing a compound
 * statement's header, a `case` pattern, or a lambda's parameters (the colons
 * that split a logical line into a header and an inline suite).
 */
import { NAME, OP, unsupported, type Tok } from './tokens.js';

/** Index of the first `:` at depth 0 that no lambda after `from` claims: a header's (or, from just after a `lambda`, that lambda's). */
export function headerColon(toks: Tok[], from: number, end = toks.length): number {
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

/** The `:` of a `case` line: the pattern holds no keyword but None/True/False; a guard starts at `if`. -1 if none. */
export function caseColon(toks: Tok[]): number {
  let depth = 0;
  for (let j = 1; j < toks.length; j++) {
    const t = toks[j];
    if (t.t === OP && (t.v === '(' || t.v === '[' || t.v === '{')) depth++;
    else if (t.t === OP && (t.v === ')' || t.v === ']' || t.v === '}')) depth--;
    else if (depth === 0 && t.t === NAME && t.v === 'if') return headerColon(toks, j + 1);
    else if (depth === 0 && t.t === OP && t.v === ':') return j;
  }
  return -1;
}
