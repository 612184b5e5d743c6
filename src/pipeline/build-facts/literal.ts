/**
 * A reader for the one statement a sysconfigdata module holds,
 * `build_time_vars = {...}`, as CPython's sysconfig writes it (`pprint` up to
 * 3.12, `_print_config_dict` from 3.13): str keys; str or int values (the
 * Makefile and pyconfig.h values that `int()` takes become ints, negative ones
 * included); long strings split into adjacent literals; a leading comment.
 *
 * The module is compiled into the stdlib zip and runs in the target when
 * `sysconfig` imports it, and pywasm-assets never runs it: so this reader
 * must see exactly the tokens CPython sees, and refuses whatever it cannot
 * prove to be that one plain assignment. It follows CPython's string
 * tokenizer (Parser/tokenizer.c in 3.11 and 3.12, Parser/tokenizer/ from
 * 3.13), which compile() uses for a module's bytes:
 * - line endings are translated first: `\r\n` and a lone `\r` are `\n`
 *   everywhere, in comments, after a `\` continuation and inside strings
 *   (`translate_newlines`), and a missing final `\n` is added;
 * - a UTF-8 BOM is dropped; a coding cookie on line 1 or 2 changes how the
 *   rest decodes (`check_coding_spec`);
 * - between tokens only space, tab and form feed are whitespace (a vertical
 *   tab or U+00A0 is a syntax error); a comment runs to the next line break;
 *   `\` continues a line only when a line break follows it at once;
 * - inside the braces line breaks and comment lines are ignored; outside, a
 *   line break ends the statement.
 * The oracle test (test/pyliteral.test.ts, test/support/literal-oracle.py)
 * checks all of this against CPython's own parser.
 *
 * Refused although CPython would read the same plain dict (sysconfig never
 * writes them; errors of kind `unsupported`): bytes that are not UTF-8 (3.11
 * ignores them in comments), a coding cookie other than UTF-8, whitespace or
 * `\` before the name, a name spelled with non-ASCII letters (CPython folds
 * identifiers with NFKC), parentheses, hex/octal/binary ints, ints beyond
 * ±2**53, `\N{...}` escapes, a `;` after the dict, `\` lines after it, a `\`
 * on the last line of a file that ends in `\r\n` (see `crlfEnd`).
 */

/** A value of `build_time_vars`: sysconfig writes only str and int. */
export type PyValue = string | number;

/**
 * `invalid`: not a plain literal (code, or not Python at all).
 * `unsupported`: maybe a plain literal to CPython, but outside what sysconfig
 * writes, so refused rather than read in some way CPython might not.
 */
export type LiteralErrorKind = 'invalid' | 'unsupported';

export class LiteralError extends Error {
  override name = 'LiteralError';
  constructor(
    message: string,
    /** 1-based line, counting `\n`, `\r\n` and `\r` as CPython does. */
    readonly line: number,
    /** 1-based column, in characters. */
    readonly column: number,
    readonly kind: LiteralErrorKind,
  ) {
    super(message);
  }
}

interface Reader {
  /** The decoded source with line endings translated and a final `\n`. */
  s: string;
  pos: number;
  /** Length of the source before the added final `\n` (where "end of file" is). */
  end: number;
  /**
   * The bytes end with `\r\n`: CPython 3.11 then adds another `\n` (its
   * translate_newlines), later versions do not, so a `\` on the last line
   * compiles under 3.11 only.
   */
  crlfEnd: boolean;
  /** Read a distribution's sysconfigdata (see readSysconfigdataFacts): f-strings are values, code around the dict is passed over. */
  lenient?: boolean;
}

const isIdStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
/** CPython's `is_potential_identifier_char`: any non-ASCII character continues a name. */
const isIdChar = (c: number): boolean => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** Whitespace between tokens: space, tab, form feed, nothing else. */
const isBlank = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\f';

function position(s: string, at: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = s.indexOf('\n'); i !== -1 && i < at; i = s.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: [...s.slice(start, at)].length + 1 };
}

function found(r: Reader, at: number): string {
  if (at >= r.end) return 'end of file';
  const text = r.s.slice(at, at + 20).split('\n')[0];
  return text ? JSON.stringify(text) : 'end of line';
}

/** Throws a LiteralError for `what` at `at`, followed by what is there when `show`. */
function fail(r: Reader, kind: LiteralErrorKind, what: string, at = r.pos, show = true): never {
  const { line, column } = position(r.s, Math.min(at, r.end));
  const tail = show ? `, found ${found(r, at)}` : '';
  throw new LiteralError(`${what} at line ${line}, column ${column}${tail}`, line, column, kind);
}

/** Index of the first byte that does not belong to well-formed UTF-8 (as CPython's codec reads it), or -1. */
function invalidUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f; // no encoded surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    // b[i + k] is undefined past the end, and `undefined < x` is false: hence the negations.
    if (!(b[i + 1] >= lo && b[i + 1] <= hi)) return i;
    for (let k = 2; k <= n; k++) if (!(b[i + k] >= 0x80 && b[i + k] <= 0xbf)) return i;
    i += n + 1;
  }
  return -1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** One character per byte (windows-1252 in WHATWG terms): enough to find an ASCII cookie before decoding. */
const BYTES = new TextDecoder('latin1');

/** CPython's `translate_newlines`: `\r\n` and `\r` become `\n`. */
const translateNewlines = (text: string): string => text.replace(/\r\n?/g, '\n');

/** Bytes → the text CPython tokenizes; refuses what it would decode otherwise or not at all. */
function decodeSource(bytes: Uint8Array): Reader {
  // check_bom: one UTF-8 BOM is dropped (a second one is a character).
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  checkCodingCookie(body);
  const bad = invalidUtf8At(body);
  if (bad >= 0) {
    const before = translateNewlines(UTF8.decode(body.subarray(0, bad)));
    const r: Reader = { s: before, pos: before.length, end: before.length, crlfEnd: false };
    fail(r, 'unsupported', `invalid UTF-8 (byte 0x${body[bad].toString(16).padStart(2, '0')})`, before.length, false);
  }
  let s = translateNewlines(UTF8.decode(body));
  const end = s.length;
  if (s !== '' && !s.endsWith('\n')) s += '\n';
  const crlfEnd = body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a;
  const r: Reader = { s, pos: 0, end, crlfEnd };
  const nul = s.indexOf('\0');
  // CPython: "source code string cannot contain null bytes", comments included.
  if (nul !== -1) fail(r, 'invalid', 'a null byte', nul, false);
  return r;
}

/**
 * CPython reads a coding cookie (`coding[:=]name` in a comment line) on line 1,
 * or on line 2 after a comment or blank line 1, before decoding, and decodes
 * the rest with it. Only a cookie naming UTF-8 (`get_normal_name`: utf-8,
 * utf_8, UTF-8-...) keeps the text this reader decodes. Checking line 2
 * whatever line 1 holds is stricter than CPython, never looser.
 */
function checkCodingCookie(body: Uint8Array): void {
  let stop = 0;
  for (let breaks = 0; stop < body.length && breaks < 2; stop++) {
    if (body[stop] === 0x0d && body[stop + 1] === 0x0a) stop++;
    if (body[stop] === 0x0a || body[stop] === 0x0d) breaks++;
  }
  const head = translateNewlines(BYTES.decode(body.subarray(0, stop)));
  let offset = 0;
  for (const line of head.split('\n', 2)) {
    const cookie = /^[ \t\f]*#/.test(line) ? /coding[:=][ \t]*([-\w.]+)/.exec(line) : null;
    if (cookie) {
      const normal = cookie[1].slice(0, 12).toLowerCase().replace(/_/g, '-');
      if (normal !== 'utf-8' && !normal.startsWith('utf-8-')) {
        const r: Reader = { s: head, pos: 0, end: head.length, crlfEnd: false };
        fail(r, 'unsupported', `a coding cookie for ${JSON.stringify(cookie[1])} (only UTF-8 is read)`, offset + cookie.index, false);
      }
    }
    offset += line.length + 1;
  }
}

/**
 * Steps over whitespace and `\` continuations; inside the braces (`inside`)
 * also over line breaks and comments. Stops at anything else.
 */
function skip(r: Reader, inside: boolean): void {
  const s = r.s;
  for (;;) {
    const ch = s[r.pos];
    if (isBlank(ch)) r.pos++;
    else if (ch === '\\') {
      if (s[r.pos + 1] !== '\n') fail(r, 'invalid', 'a "\\" not followed by a line break');
      r.pos += 2;
      if (r.pos >= s.length) fail(r, r.crlfEnd ? 'unsupported' : 'invalid', 'end of file after a "\\" continuation', r.pos - 2, false);
    } else if (inside && ch === '\n') r.pos++;
    else if (inside && ch === '#') r.pos = s.indexOf('\n', r.pos);
    else return;
  }
}

/** The name (CPython's identifier characters) at `r.pos`. */
function readName(r: Reader): string {
  const start = r.pos;
  while (r.pos < r.s.length && isIdChar(r.s.charCodeAt(r.pos))) r.pos++;
  return r.s.slice(start, r.pos);
}

/**
 * Does a string literal start at `r.pos`? Answers whether it is raw; refuses
 * bytes and f-strings (a sysconfigdata's values are str).
 */
function stringStart(r: Reader): { raw: boolean; prefix: number } | undefined {
  const s = r.s;
  const c = s[r.pos];
  if (c === "'" || c === '"') return { raw: false, prefix: 0 };
  if (!isIdStart(s.charCodeAt(r.pos))) return undefined;
  let j = r.pos;
  while (j < s.length && isIdChar(s.charCodeAt(j))) j++;
  if (s[j] !== "'" && s[j] !== '"') return undefined;
  const prefix = s.slice(r.pos, j);
  if (!/^[A-Za-z]{1,2}$/.test(prefix)) return undefined;
  const p = prefix.toLowerCase();
  if (p === 'r' || p === 'u') return { raw: p === 'r', prefix: 1 };
  if (p === 'b' || p === 'br' || p === 'rb') fail(r, 'invalid', 'a bytes literal (values must be str or int)');
  if (p === 'f' || p === 'fr' || p === 'rf') {
    // Lenient: the f-string's text as written, its `{NAME}` fields unexpanded (never evaluated).
    if (r.lenient) return { raw: p !== 'f', prefix: p.length };
    fail(r, 'invalid', 'an f-string (values must be plain str or int)');
  }
  return undefined;
}

/** A string literal, adjacent ones concatenated as CPython does ('a' "b" → 'ab'). */
function readString(r: Reader): string {
  let out = '';
  for (let start = stringStart(r); start; start = stringStart(r)) {
    r.pos += start.prefix;
    out += readSegment(r, start.raw);
    skip(r, true);
  }
  return out;
}

/** One literal from its opening quote: CPython's tokenizer finds its end, then the parser decodes it. */
function readSegment(r: Reader, raw: boolean): string {
  const s = r.s;
  const open = r.pos;
  const q = s[open];
  const triple = s[open + 1] === q && s[open + 2] === q;
  const close = triple ? q + q + q : q;
  r.pos += close.length;
  const from = r.pos;
  for (;;) {
    if (r.pos >= s.length) fail(r, 'invalid', 'unterminated string', open, false);
    const ch = s[r.pos];
    // A backslash takes the next character along, whatever it is (a quote, a
    // line break), in raw strings too.
    if (ch === '\\') r.pos += 2;
    else if (ch === '\n' && !triple) fail(r, 'invalid', 'unterminated string', open, false);
    else if (ch === q && (!triple || s.startsWith(close, r.pos))) break;
    else r.pos++;
  }
  const body = s.slice(from, r.pos);
  r.pos += close.length;
  return raw ? body : decodeEscapes(r, body, from);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/** CPython's `unicode_escape` decoding of a non-raw literal's body (which starts at `at`). */
function decodeEscapes(r: Reader, body: string, at: number): string {
  let out = '';
  let i = 0;
  for (let j = body.indexOf('\\'); j !== -1; j = body.indexOf('\\', i)) {
    out += body.slice(i, j);
    const d = body[j + 1];
    i = j + 2;
    if (Object.hasOwn(SIMPLE_ESCAPES, d)) out += SIMPLE_ESCAPES[d];
    else if (d >= '0' && d <= '7') {
      const digits = /^[0-7]{1,3}/.exec(body.slice(j + 1, j + 4))![0];
      out += String.fromCharCode(parseInt(digits, 8)); // up to \777: U+01FF, kept by CPython (with a warning)
      i = j + 1 + digits.length;
    } else if (d === 'x' || d === 'u' || d === 'U') {
      const n = d === 'x' ? 2 : d === 'u' ? 4 : 8;
      const hex = body.slice(j + 2, j + 2 + n);
      if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== n) fail(r, 'invalid', `a truncated \\${d} escape`, at + j, false);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) fail(r, 'invalid', `an illegal Unicode character \\${d}${hex}`, at + j, false);
      out += String.fromCodePoint(code);
      i = j + 2 + n;
    } else if (d === 'N') {
      fail(r, 'unsupported', 'a \\N{...} escape', at + j, false);
    } else out += `\\${d}`; // unknown escapes stay as written
  }
  return out + body.slice(i);
}

/** A decimal int literal (underscores allowed, as CPython reads them); `sign` is -1 after a unary minus. */
function readInt(r: Reader, sign: 1 | -1): number {
  const s = r.s;
  const start = r.pos;
  const re = s[start] === '0' ? /0(?:_?0)*/y : /[1-9](?:_?[0-9])*/y;
  re.lastIndex = start;
  const digits = re.exec(s)![0];
  r.pos = start + digits.length;
  const next = s[r.pos];
  if (digits === '0' && next !== undefined && /[xXoObB]/.test(next)) fail(r, 'unsupported', 'a hex, octal or binary int', start);
  if (next === '.' || next === 'e' || next === 'E' || next === 'j' || next === 'J') fail(r, 'invalid', 'a float or complex number (values must be str or int)', start);
  if (isIdChar(s.charCodeAt(r.pos))) fail(r, 'invalid', 'an invalid number', start);
  const value = BigInt(digits.replace(/_/g, '')) * BigInt(sign);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    fail(r, 'unsupported', 'an int beyond ±2**53', start);
  }
  return Number(value) || 0; // -0 is 0
}

function refuseParenthesis(r: Reader): void {
  if (r.s[r.pos] === '(') fail(r, 'unsupported', 'a parenthesis (sysconfig writes none)');
}

/** A value: a str (maybe concatenated), an int, or `-` and an int. */
function readValue(r: Reader): PyValue {
  refuseParenthesis(r);
  if (stringStart(r)) return readString(r);
  if (isDigit(r.s.charCodeAt(r.pos))) return readInt(r, 1);
  if (r.s[r.pos] === '-') {
    const minus = r.pos;
    r.pos++;
    skip(r, true);
    refuseParenthesis(r);
    if (isDigit(r.s.charCodeAt(r.pos))) return readInt(r, -1);
    fail(r, 'invalid', 'expected an int after "-"', minus);
  }
  if (r.s[r.pos] === '.' && isDigit(r.s.charCodeAt(r.pos + 1))) fail(r, 'invalid', 'a float (values must be str or int)');
  fail(r, 'invalid', 'expected a string or an int');
}

function readDict(r: Reader): Map<string, PyValue> {
  const vars = new Map<string, PyValue>();
  r.pos++; // {
  for (;;) {
    skip(r, true);
    if (r.s[r.pos] === '}') break;
    refuseParenthesis(r);
    if (!stringStart(r)) fail(r, 'invalid', 'expected a string key');
    const key = readString(r);
    if (r.s[r.pos] !== ':') fail(r, 'invalid', 'expected ":"');
    r.pos++;
    skip(r, true);
    // A repeated key keeps its first place and takes the last value, as in a Python dict.
    vars.set(key, readValue(r));
    skip(r, true);
    if (r.s[r.pos] === ',') r.pos++;
    else if (r.s[r.pos] !== '}') fail(r, 'invalid', 'expected "," or "}"');
  }
  r.pos++; // }
  return vars;
}

/** Steps over the rest of a line holding only whitespace and a comment; answers whether it did. */
function restOfLineIsBlank(r: Reader): boolean {
  while (isBlank(r.s[r.pos])) r.pos++;
  if (r.s[r.pos] === '#') r.pos = r.s.indexOf('\n', r.pos);
  return r.pos >= r.s.length || r.s[r.pos] === '\n';
}

function readModule(r: Reader, name: string): Map<string, PyValue> {
  const s = r.s;
  if (r.lenient) return readAssignmentAmidCode(r, name);
  // Blank and comment lines, then the statement, which must not be indented.
  let lineStart = 0;
  for (;;) {
    lineStart = r.pos;
    if (!restOfLineIsBlank(r)) break;
    if (r.pos >= s.length) fail(r, 'invalid', `expected "${name}"`);
    r.pos++;
  }
  // restOfLineIsBlank stopped at the statement's first character.
  if (s[r.pos] === '\\') fail(r, 'unsupported', `a "\\" before "${name}"`);
  // CPython's indentation: a form feed resets the column, so "\f name" is not indented.
  if (r.pos > lineStart) {
    const kind = s[r.pos - 1] === '\f' ? 'unsupported' : 'invalid';
    fail(r, kind, `whitespace before "${name}" (an indented statement)`);
  }
  refuseParenthesis(r);
  const at = r.pos;
  const got = readName(r);
  // CPython folds names with NFKC ("ｂuild_time_vars" is the same name): refused all the same.
  if (got !== name) fail(r, got.normalize('NFKC') === name ? 'unsupported' : 'invalid', `expected "${name}"`, at);
  skip(r, false);
  if (s[r.pos] !== '=' || s[r.pos + 1] === '=') fail(r, 'invalid', 'expected "="');
  r.pos++;
  skip(r, false);
  refuseParenthesis(r);
  if (s[r.pos] !== '{') fail(r, 'invalid', 'expected "{"');
  const vars = readDict(r);

  // Then only the rest of the line, and blank and comment lines. CPython also
  // takes a ";" ending the line, and a "\" line joined to an empty one.
  skip(r, false);
  const after = r.pos;
  const semicolon = s[r.pos] === ';';
  if (semicolon) r.pos++;
  if (!restOfLineIsBlank(r)) fail(r, semicolon && s[r.pos] === '\\' ? 'unsupported' : 'invalid', 'unexpected code after the dict', after);
  while (r.pos < s.length) {
    r.pos++; // \n
    if (restOfLineIsBlank(r)) continue;
    while (isBlank(s[r.pos])) r.pos++;
    fail(r, s[r.pos] === '\\' ? 'unsupported' : 'invalid', 'unexpected code after the dict', r.pos);
  }
  if (semicolon) fail(r, 'unsupported', 'a ";" after the dict', after, false);
  return vars;
}

/** Lenient: the first unindented `name = {` line, whatever comes before and after it. */
function readAssignmentAmidCode(r: Reader, name: string): Map<string, PyValue> {
  const at = new RegExp(`^${name}[ \\t\\f]*=[ \\t\\f]*\\{`, 'm').exec(r.s);
  if (!at) fail(r, 'invalid', `no line "${name} = {"`, 0, false);
  r.pos = at.index + at[0].length - 1;
  return readDict(r);
}

/**
 * Reads `source`, the bytes of a sysconfigdata module (or any module holding
 * `name = {...}` the same way), as CPython would, without running it: the dict
 * when the module is exactly that one assignment of str keys to str and int
 * values, else a LiteralError naming the line and column. Pass the file's
 * bytes: a string decoded with replacement characters has lost what CPython
 * would refuse (it is encoded back to UTF-8 here).
 *
 * @example
 * parsePythonDictLiteral(fs.readFileSync(file), 'build_time_vars').get('MACHDEP') // 'emscripten'
 */
export function parsePythonDictLiteral(source: Uint8Array | string, name: string): Map<string, PyValue> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`not an ASCII Python name: ${JSON.stringify(name)}`);
  const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source;
  return readModule(decodeSource(bytes), name);
}

/**
 * The facts of a distribution's own sysconfigdata, which is code, not a literal:
 * Pyodide's since 0.26 starts with `import os` and `PYODIDE_ROOT = os.environ.get(...)`,
 * writes paths as f-strings over PYODIDE_ROOT and ends with an `if`. Reads the
 * `name = {...}` dict among that code without running any of it: an f-string's
 * value is its text as written (`{PYODIDE_ROOT}/...`, fields unexpanded); str and
 * int values read as parsePythonDictLiteral reads them. For reading facts only:
 * such a module ships unchanged, as its distribution ships it, never as a
 * literal pywasm-assets vouches for.
 */
export function readDictAmidCode(source: Uint8Array | string, name: string): Map<string, PyValue> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`not an ASCII Python name: ${JSON.stringify(name)}`);
  const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source;
  return readModule({ ...decodeSource(bytes), lenient: true }, name);
}
