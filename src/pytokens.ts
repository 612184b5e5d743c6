/**
 * The tokenizer of src/pyscan.ts: a Python source as logical lines of tokens,
 * with function bodies skimmed (only their lines that hold `import` are
 * tokenized, flattened to one level: nothing else in them matters to the scan).
 */

/** Thrown for anything the scan does not handle; findImports (src/pyscan.ts) then answers undefined. */
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

const SKIMMED: Tok = { t: STRING, v: '', line: 0, str: undefined };
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

/** Splits a source into logical lines of tokens (comments, blank lines and NL dropped). */
export function tokenize(text: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let depth = 0;
  let cur: Tok[] = [];
  let indent = 0;
  let atStart = true;
  /** Indentation of the `def` whose body is being skimmed, or -1. */
  let skipIndent = -1;
  let skimming = false;
  /** Pushes the finished logical line; a `def` header with an indented body starts skimming it. */
  const push = () => {
    const line: LogicalLine = { indent, toks: cur, skipped: false };
    lines.push(line);
    if (skipIndent < 0) {
      const first = cur[0];
      const last = cur[cur.length - 1];
      const isDef = first.t === NAME && (first.v === 'def' || (first.v === 'async' && cur[1]?.t === NAME && cur[1].v === 'def'));
      if (isDef && last.t === OP && last.v === ':') {
        skipIndent = indent;
        line.skipped = true;
      }
    }
  };

  const newline = (c: number) => {
    // i is at \r or \n: step over one line break.
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    i++;
    line++;
  };

  /** Scans a string literal whose opening quote is at `i`; returns its token. */
  const scanString = (prefix: string): Tok => {
    const startLine = line;
    const p = prefix.toLowerCase();
    const raw = p.includes('r');
    const bytes = p.includes('b');
    const f = p.includes('f');
    const q = text.charCodeAt(i);
    const triple = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
    i += triple ? 3 : 1;
    const bodyStart = i;
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
    if (skimming) {
      i += triple ? 3 : 1;
      return SKIMMED;
    }
    const body = text.slice(bodyStart, i);
    i += triple ? 3 : 1;
    const value = f ? undefined : raw ? body : decodeEscapes(body, bytes);
    return { t: STRING, v: '', line: startLine, str: { value, bytes, f, fields } };
  };

  /**
   * Skims one logical line of a function body from `i` (after its indentation)
   * through its end, creating no tokens: strings, brackets, comments and
   * continuations are followed only to find where it ends. Answers whether it
   * holds the name `import` (then the caller tokenizes it for real).
   */
  const skimLine = (): boolean => {
    let found = false;
    let d = 0;
    skimming = true;
    try {
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 10 || c === 13) {
          newline(c);
          if (d <= 0) return found;
          continue;
        }
        if (c === 35) {
          while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
          continue;
        }
        if (c === 92) {
          const e = text.charCodeAt(i + 1);
          i++;
          if (e === 10 || e === 13) newline(e);
          continue;
        }
        if (c === 39 || c === 34) {
          scanString('');
          continue;
        }
        if (isIdStart(c)) {
          const start = i;
          // `import` (and the `from` of `from x import y`, which has it too)
          if (skipName() === 6 && text.startsWith('import', start)) found = true;
          continue;
        }
        if (c === 40 || c === 91 || c === 123) d++;
        else if (c === 41 || c === 93 || c === 125) d--;
        i++;
      }
      return found;
    } finally {
      skimming = false;
    }
  };

  /**
   * At the start of a name: steps over it, or over the string literal it prefixes
   * (`rb'...'`). Answers the name's length (0 for a string).
   */
  const skipName = (): number => {
    let j = i + 1;
    while (j < n && isIdChar(text.charCodeAt(j))) j++;
    const q = text.charCodeAt(j);
    if ((q === 39 || q === 34) && j - i <= 2 && STRING_PREFIXES.has(text.slice(i, j).toLowerCase())) {
      const prefix = text.slice(i, j);
      i = j;
      scanString(prefix);
      return 0;
    }
    const length = j - i;
    i = j;
    return length;
  };

  /** Scans an f-string replacement field after its `{`, through its closing `}`. */
  const scanField = (): void => {
    let d = 0;
    for (;;) {
      if (i >= n) unsupported('unterminated f-string field');
      const c = text.charCodeAt(i);
      if (c === 39 || c === 34) {
        scanString('');
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
  };

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
        if (cur.length) push();
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
      if ((q === 39 || q === 34) && j - i <= 2 && STRING_PREFIXES.has(word.toLowerCase())) {
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
  if (cur.length) push();
  return lines;
}
