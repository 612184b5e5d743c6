/**
 * A parser for the one Python statement a sysconfigdata module holds,
 * `build_time_vars = {...}`, written by CPython's `sysconfig._generate_posix_vars`
 * with `pprint`: string keys, str/int values, adjacent string literals
 * concatenated, comments. Anything else (a call, a name, a second statement)
 * is rejected: the file is data, and a file holding code must never run.
 */
export type PyValue = string | number | boolean | null;

export class LiteralError extends Error {}

interface Cursor {
  src: string;
  pos: number;
}

function where(c: Cursor): string {
  const before = c.src.slice(0, c.pos);
  const line = before.split('\n').length;
  const col = c.pos - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

function skip(c: Cursor): void {
  for (;;) {
    const ch = c.src[c.pos];
    if (ch === '#') {
      while (c.pos < c.src.length && c.src[c.pos] !== '\n') c.pos++;
    } else if (ch === '\\' && c.src[c.pos + 1] === '\n') {
      c.pos += 2;
    } else if (ch !== undefined && /\s/.test(ch)) {
      c.pos++;
    } else return;
  }
}

function expect(c: Cursor, token: string): void {
  skip(c);
  if (!c.src.startsWith(token, c.pos)) {
    const got = c.src.slice(c.pos, c.pos + 20).split('\n')[0] || 'end of file';
    throw new LiteralError(`expected "${token}" at ${where(c)}, found "${got}"`);
  }
  c.pos += token.length;
}

function readString(c: Cursor): string {
  let out = '';
  // Adjacent literals concatenate: 'a' "b" → 'ab'.
  while (/^[rRuU]?['"]/.test(c.src.slice(c.pos, c.pos + 2))) {
    let raw = false;
    if (/[rRuU]/.test(c.src[c.pos])) {
      raw = /[rR]/.test(c.src[c.pos]);
      c.pos++;
    }
    const quote = c.src.startsWith(c.src[c.pos].repeat(3), c.pos) ? c.src[c.pos].repeat(3) : c.src[c.pos];
    c.pos += quote.length;
    for (;;) {
      if (c.pos >= c.src.length) throw new LiteralError(`unterminated string at ${where(c)}`);
      if (c.src.startsWith(quote, c.pos)) {
        c.pos += quote.length;
        break;
      }
      const ch = c.src[c.pos];
      if (ch === '\n' && quote.length === 1) throw new LiteralError(`newline in string at ${where(c)}`);
      if (ch === '\\' && !raw) {
        out += readEscape(c);
        continue;
      }
      if (ch === '\\' && raw) {
        out += ch + (c.src[c.pos + 1] ?? '');
        c.pos += 2;
        continue;
      }
      out += ch;
      c.pos++;
    }
    skip(c);
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

function readEscape(c: Cursor): string {
  const next = c.src[c.pos + 1];
  if (next in SIMPLE_ESCAPES) {
    c.pos += 2;
    return SIMPLE_ESCAPES[next];
  }
  const hex = (n: number): string => {
    const digits = c.src.slice(c.pos + 2, c.pos + 2 + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) throw new LiteralError(`bad escape at ${where(c)}`);
    c.pos += 2 + n;
    return String.fromCodePoint(parseInt(digits, 16));
  };
  if (next === 'x') return hex(2);
  if (next === 'u') return hex(4);
  if (next === 'U') return hex(8);
  const octal = /^[0-7]{1,3}/.exec(c.src.slice(c.pos + 1, c.pos + 4));
  if (octal) {
    c.pos += 1 + octal[0].length;
    return String.fromCharCode(parseInt(octal[0], 8));
  }
  // Python keeps unknown escapes as written.
  c.pos += 1;
  return '\\';
}

function readValue(c: Cursor): PyValue {
  skip(c);
  const rest = c.src.slice(c.pos, c.pos + 40);
  if (/^[rRuU]?['"]/.test(rest)) return readString(c);
  const num = /^[-+]?(\d[\d_]*)(\.\d+)?([eE][-+]?\d+)?/.exec(rest);
  if (num && !/^[-+]?\d[\d_]*[A-Za-z_(]/.test(rest.slice(0, num[0].length + 1)) ) {
    c.pos += num[0].length;
    return Number(num[0].replace(/_/g, ''));
  }
  for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
    if (new RegExp(`^${word}(?![A-Za-z0-9_])`).test(rest)) {
      c.pos += word.length;
      return value;
    }
  }
  const got = rest.split('\n')[0] || 'end of file';
  throw new LiteralError(`expected a string or number at ${where(c)}, found "${got}"`);
}

/**
 * Parses `source` as `name = { 'key': value, ... }` and nothing else
 * (comments and whitespace allowed).
 */
export function parsePythonDictLiteral(source: string, name: string): Map<string, PyValue> {
  const c: Cursor = { src: source.replace(/^\uFEFF/, ''), pos: 0 };
  expect(c, name);
  expect(c, '=');
  expect(c, '{');
  const vars = new Map<string, PyValue>();
  for (;;) {
    skip(c);
    if (c.src[c.pos] === '}') {
      c.pos++;
      break;
    }
    if (!/^[rRuU]?['"]/.test(c.src.slice(c.pos, c.pos + 2))) {
      const got = c.src.slice(c.pos, c.pos + 20).split('\n')[0] || 'end of file';
      throw new LiteralError(`expected a string key at ${where(c)}, found "${got}"`);
    }
    const key = readString(c);
    expect(c, ':');
    vars.set(key, readValue(c));
    skip(c);
    if (c.src[c.pos] === ',') c.pos++;
    else if (c.src[c.pos] !== '}') {
      const got = c.src.slice(c.pos, c.pos + 20).split('\n')[0] || 'end of file';
      throw new LiteralError(`expected "," or "}" at ${where(c)}, found "${got}"`);
    }
  }
  skip(c);
  if (c.pos < c.src.length) {
    const got = c.src.slice(c.pos, c.pos + 30).split('\n')[0];
    throw new LiteralError(`unexpected code after the dict at ${where(c)}: "${got}"`);
  }
  return vars;
}
