/**
 * The tokenizer of the import scan (index.ts): a Python source as logical lines of tokens,
 * with function bodies skimmed (only their lines that hold `import` are
 * tokenized, flattened to one level: nothing else in them matters to the scan).
 */

/** Thrown for anything the scan does not handle; findImports (index.ts) then answers undefined. */
export class Unsupported extends Error {}
export const unsupported = (what: string): never => {
  throw new Unsupported(what);
};

export const NAME = 1;
export const NUMBER = 2;
export const STRING = 3;
export const OP = 4;

export interface Str {
  /** The decoded value; undefined when it holds an escape this scan does not decode (\N{...}). */
  value: string | undefined;
  bytes: boolean;
  /** An f-string part: the whole literal is a JoinedStr, never a Constant. */
  f: boolean;
  /** An f-string with replacement fields (expressions this scan does not parse). */
  fields: boolean;
}

export interface Tok {
  t: number;
  v: string;
  line: number;
  str?: Str;
}

export interface LogicalLine {
  indent: number;
  toks: Tok[];
  /** A `def` header whose indented body was skimmed (only its lines holding `import` were kept, flattened). */
  skipped: boolean;
}

const isIdStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const isIdChar = (c: number) => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;
const STRING_PREFIXES = new Set(['r', 'u', 'b', 'br', 'rb', 'f', 'fr', 'rf']);
const OPS3 = new Set(['**=', '//=', '>>=', '<<=', '...']);
const OPS2 = new Set(['->', ':=', '**', '//', '>>', '<<', '<=', '>=', '==', '!=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=']);
const OPS1 = '()[]{},:;.+-*/%&|^~<>=@!';
/** Operator tokens of one character, by char code. */
const OP_SINGLE: (string | undefined)[] = [];
for (const ch of OPS1) OP_SINGLE[ch.charCodeAt(0)] = ch;
/** Characters that can start a longer operator (followed by `=`, themselves, or `->` / `:=`). */
const OP_FIRSTS: boolean[] = [];
for (const op of ['**=', '//=', '>>=', '<<=', '...', '->', ':=', '**', '//', '>>', '<<', '<=', '>=', '==', '!=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=']) OP_FIRSTS[op.charCodeAt(0)] = true;
const NUMBER_RE = /0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?/y;

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function decodeEscapes(body: string, bytes: boolean): string | undefined {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const d = body[++i];
    if (d === undefined) return undefined;
    if (d === '\n') continue;
    if (d === '\r') {
      if (body[i + 1] === '\n') i++;
      continue;
    }
    if (d in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[d];
    else if (d >= '0' && d <= '7') {
      let j = i;
      while (j < i + 3 && body[j] >= '0' && body[j] <= '7') j++;
      out += String.fromCodePoint(parseInt(body.slice(i, j), 8));
      i = j - 1;
    } else if (d === 'x' || (!bytes && (d === 'u' || d === 'U'))) {
      const len = d === 'x' ? 2 : d === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) return undefined;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return undefined;
      out += String.fromCodePoint(cp);
      i += len;
    } else if (d === 'N' && !bytes) {
      return undefined; // named escape: the value stays unknown
    } else out += `\\${d}`;
  }
  return out;
}

// The tokenizer's state: module-level, not closures of tokenize() (which is
// synchronous and never re-entered). Closures made afresh for every file sent
// V8's optimized code back to the interpreter at the next file ("wrong call
// target"), and recompiling tokenize() five times was most of a cold pack's
// import-scan CPU. Measured on the 426 modules of the 3.11 stdlib's default
// profile, first pass in a fresh process (what a cold pack does): ~440 -> ~355
// ms of CPU with function bodies skimmed by SKIM_RE; the cold pack 1.37 -> 1.26 s.
let text = '';
let n = 0;
let i = 0;
let line = 1;

/** Steps over the line break at `i` (\r, \n or \r\n). */
function newline(c: number): void {
  if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
  i++;
  line++;
}

/** Does text[from, to) prefix a string literal (`rb`, `f`...)? */
function isStringPrefix(from: number, to: number): boolean {
  return to - from <= 2 && STRING_PREFIXES.has(text.slice(from, to).toLowerCase());
}

/**
 * Steps over the string literal whose opening quote is at `i`, to just after
 * its closing quote. Answers whether it is an f-string with replacement fields.
 */
function skipString(prefix: string): boolean {
  const p = prefix.toLowerCase();
  const raw = p.includes('r');
  const f = p.includes('f');
  const q = text.charCodeAt(i);
  const triple = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
  i += triple ? 3 : 1;
  let fields = false;
  for (;;) {
    if (i >= n) unsupported('unterminated string');
    const c = text.charCodeAt(i);
    if (c === 92) {
      // backslash: skips the next character, even in raw strings (r'\'' is one quote)
      const d = text.charCodeAt(i + 1);
      if (f && !raw && d === 78 && text.charCodeAt(i + 2) === 123) {
        const close = text.indexOf('}', i + 3);
        if (close < 0) unsupported('\\N{ without }');
        i = close + 1;
        continue;
      }
      i++;
      if (d === 13 || d === 10) newline(d);
      else i++;
      continue;
    }
    if (c === q && (!triple || (text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q))) break;
    if (c === 13 || c === 10) {
      newline(c);
      continue;
    }
    if (f && c === 123) {
      if (text.charCodeAt(i + 1) === 123) {
        i += 2;
        continue;
      }
      i++;
      fields = true;
      scanField();
      continue;
    }
    i++;
  }
  i += triple ? 3 : 1;
  return fields;
}

/** The token of the string literal whose opening quote is at `i`, stepped over. */
function scanString(prefix: string): Tok {
  const startLine = line;
  const q = text.charCodeAt(i);
  const quotes = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q ? 3 : 1;
  const bodyStart = i + quotes;
  const fields = skipString(prefix);
  const body = text.slice(bodyStart, i - quotes);
  const p = prefix.toLowerCase();
  const bytes = p.includes('b');
  const f = p.includes('f');
  const value = f ? undefined : p.includes('r') ? body : decodeEscapes(body, bytes);
  return { t: STRING, v: '', line: startLine, str: { value, bytes, f, fields } };
}

/** What ends or nests a line of a function body, or starts a string or comment (skimLine stops only there). */
const SKIM_RE = /[\n\r#'"\\()[\]{}]/g;
/** Where a comment ends. */
const EOL_RE = /[\n\r]/g;
/** The next `import` at or after the last skimmed line's start (n: none), for skimLine. */
let importAt = -1;

/**
 * Skims one logical line of a function body from `i` (after its indentation)
 * through its end, creating no tokens: strings, brackets, comments and
 * continuations are followed only to find where it ends (the regular
 * expression engine steps over everything else). Answers whether the line
 * holds the name `import` outside strings and comments (then the caller
 * tokenizes it for real).
 */
function skimLine(): boolean {
  let found = false;
  /** Where the code after the last string or comment starts. */
  let code = i;
  let d = 0;
  for (;;) {
    SKIM_RE.lastIndex = i;
    if (!SKIM_RE.test(text)) {
      i = n;
      break;
    }
    i = SKIM_RE.lastIndex - 1;
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      newline(c);
      if (d <= 0) break;
    } else if (c === 35) {
      found ||= mentionsImport(code, i);
      EOL_RE.lastIndex = i;
      i = code = EOL_RE.test(text) ? EOL_RE.lastIndex - 1 : n;
    } else if (c === 92) {
      const e = text.charCodeAt(++i);
      if (e === 10 || e === 13) newline(e);
    } else if (c === 39 || c === 34) {
      found ||= mentionsImport(code, i);
      skipString(prefixBefore(i));
      code = i;
    } else {
      if (c === 40 || c === 91 || c === 123) d++;
      else d--;
      i++;
    }
  }
  return found || mentionsImport(code, i);
}

/** The string prefix (`rb`, `f`...) right before the quote at `at`, or ''. */
function prefixBefore(at: number): string {
  let j = at;
  while (j > 0 && at - j <= 2 && isIdChar(text.charCodeAt(j - 1))) j--;
  return j < at && isStringPrefix(j, at) ? text.slice(j, at) : '';
}

/** Is there a word `import` in text[start, end)? Calls come in order of `start`. */
function mentionsImport(start: number, end: number): boolean {
  while (importAt < start) {
    const k = text.indexOf('import', start);
    if (k < 0) importAt = n;
    else if ((k > 0 && isIdChar(text.charCodeAt(k - 1))) || isIdChar(text.charCodeAt(k + 6))) start = k + 1; // importlib, reimport
    else importAt = k;
  }
  return importAt < end;
}

/** At the start of a name: steps over it, or over the string literal it prefixes (`rb'...'`). */
function skipName(): void {
  let j = i + 1;
  while (j < n && isIdChar(text.charCodeAt(j))) j++;
  const q = text.charCodeAt(j);
  const prefix = (q === 39 || q === 34) && isStringPrefix(i, j) ? text.slice(i, j) : undefined;
  i = j;
  if (prefix !== undefined) skipString(prefix);
}

/** Scans an f-string replacement field after its `{`, through its closing `}`. */
function scanField(): void {
  let d = 0;
  for (;;) {
    if (i >= n) unsupported('unterminated f-string field');
    const c = text.charCodeAt(i);
    if (c === 39 || c === 34) {
      skipString('');
      continue;
    }
    if (isIdStart(c)) {
      skipName();
      continue;
    }
    if (c === 40 || c === 91 || c === 123) d++;
    else if (c === 41 || c === 93) d--;
    else if (c === 125) {
      if (d === 0) {
        i++;
        return;
      }
      d--;
    } else if (c === 58 && d === 0) {
      // format spec: literal text with nested fields, up to the field's `}`
      i++;
      for (;;) {
        if (i >= n) unsupported('unterminated format spec');
        const s = text.charCodeAt(i);
        if (s === 123) {
          i++;
          scanField();
        } else if (s === 125) {
          i++;
          return;
        } else if (s === 13 || s === 10) newline(s);
        else i++;
      }
    } else if (c === 35) unsupported('comment in an f-string field');
    else if (c === 13 || c === 10) {
      newline(c);
      continue;
    }
    i++;
  }
}

/** A `def` header whose body follows on the next lines (`def f(...):`, `async def f(...):`). */
function isDefHeader(cur: Tok[]): boolean {
  const first = cur[0];
  const last = cur[cur.length - 1];
  const isDef = first.t === NAME && (first.v === 'def' || (first.v === 'async' && cur[1]?.t === NAME && cur[1].v === 'def'));
  return isDef && last.t === OP && last.v === ':';
}

/** Appends a logical line; answers whether it is a `def` header whose body is to be skimmed (when `mayStartSkim`). */
function pushLine(lines: LogicalLine[], indent: number, toks: Tok[], mayStartSkim: boolean): boolean {
  const skipped = mayStartSkim && isDefHeader(toks);
  lines.push({ indent, toks, skipped });
  return skipped;
}

/** Splits a source into logical lines of tokens (comments, blank lines and NL dropped). */
export function tokenize(source: string): LogicalLine[] {
  text = source;
  n = source.length;
  i = 0;
  line = 1;
  importAt = -1;
  try {
    return tokenizeLines();
  } finally {
    text = '';
  }
}

function tokenizeLines(): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let depth = 0;
  let cur: Tok[] = [];
  let indent = 0;
  let atStart = true;
  /** Indentation of the `def` whose body is being skimmed, or -1. */
  let skipIndent = -1;

  while (i < n) {
    let c = text.charCodeAt(i);
    if (atStart && depth === 0) {
      let col = 0;
      for (;;) {
        if (c === 32) col++;
        else if (c === 9) col = (Math.floor(col / 8) + 1) * 8;
        else if (c === 12) col = 0;
        else break;
        c = text.charCodeAt(++i);
      }
      if (i >= n) break;
      if (c === 35) {
        while (i < n && c !== 10 && c !== 13) c = text.charCodeAt(++i);
      }
      if (c === 10 || c === 13) {
        newline(c);
        continue;
      }
      if (i >= n) break;
      if (skipIndent >= 0) {
        if (col > skipIndent) {
          // In a function body: only lines with `import` matter, all at one (flattened) level.
          const start = i;
          const startLine = line;
          if (!skimLine()) continue;
          i = start;
          line = startLine;
          col = skipIndent + 1;
        } else skipIndent = -1;
      }
      indent = col;
      atStart = false;
    }
    if (c === 32 || c === 9 || c === 12) {
      i++;
      continue;
    }
    if (c === 35) {
      while (i < n && c !== 10 && c !== 13) c = text.charCodeAt(++i);
      continue;
    }
    if (c === 10 || c === 13) {
      newline(c);
      if (depth === 0) {
        // The finished logical line; a `def` header with an indented body starts skimming it.
        if (cur.length && pushLine(lines, indent, cur, skipIndent < 0)) skipIndent = indent;
        cur = [];
        atStart = true;
      }
      continue;
    }
    if (c === 92) {
      const d = text.charCodeAt(i + 1);
      if (d === 10 || d === 13) {
        i++;
        newline(d);
        continue;
      }
      if (i + 1 >= n) break;
      unsupported('stray backslash');
    }
    if (c === 39 || c === 34) {
      cur.push(scanString(''));
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      let ascii = c < 128;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (!isIdChar(d)) break;
        if (d >= 128) ascii = false;
      }
      const q = text.charCodeAt(j);
      const word = text.slice(i, j);
      if ((q === 39 || q === 34) && isStringPrefix(i, j)) {
        i = j;
        cur.push(scanString(word));
        continue;
      }
      // Python reads identifiers NFKC-normalized.
      cur.push({ t: NAME, v: ascii ? word : word.normalize('NFKC'), line, str: undefined });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      NUMBER_RE.lastIndex = i;
      const m = NUMBER_RE.exec(text);
      if (!m) unsupported('number');
      cur.push({ t: NUMBER, v: m![0], line, str: undefined });
      i += m![0].length;
      continue;
    }
    let op = OP_SINGLE[c];
    if (op === undefined) return unsupported(`character ${JSON.stringify(text[i])}`);
    if (c === 40 || c === 91 || c === 123) depth++;
    else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
    else if (OP_FIRSTS[c]) {
      const next = text.charCodeAt(i + 1);
      if (next === 61 || next === c || (c === 45 && next === 62) || (c === 58 && next === 61)) {
        const three = text.slice(i, i + 3);
        if (OPS3.has(three)) op = three;
        else {
          const two = text.slice(i, i + 2);
          if (OPS2.has(two)) op = two;
        }
      }
    }
    cur.push({ t: OP, v: op, line, str: undefined });
    i += op.length;
  }
  if (cur.length) pushLine(lines, indent, cur, skipIndent < 0);
  return lines;
}
