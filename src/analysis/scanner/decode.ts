/**
 * A module's bytes as the text Python reads (PEP 263), when this scan can read
 * it: UTF-8, or a pure-ASCII source that declares latin-1/ascii. Anything else
 * is left to the build interpreter's AST scan.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CODING_RE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'utf_8', 'u8', 'utf', 'cp65001']);

/** The source as text, or undefined when it is not UTF-8 (or declares another encoding). */
export function decode(source: Uint8Array | string): string | undefined {
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
