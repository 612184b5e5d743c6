/**
 * A read position in a range of one logical line's tokens, as the expression
 * parser (parser.ts, atoms.ts) consumes them. One per parsed expression
 * (lazy.ts's nodeOf, an except clause's type), passed to plain functions: a
 * single object shape, which V8 optimizes as it did the former Parser class.
 */
import { NAME, OP, unsupported, type Tok } from './tokens.js';

export class Cursor {
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
}
