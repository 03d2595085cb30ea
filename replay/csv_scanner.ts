/**
 * A byte-level CSV field scanner for the replay's large inputs: it walks a Uint8Array once,
 * parses integers and exact decimals straight from the bytes (no strings, no split, no
 * regex, no floats) and reports problems as `file:line: reason`.
 *
 * Fields are plain: no quoting (the replay formats never need it). Lines end with LF or
 * CRLF; the last line may lack its end. Every field parser consumes its terminator: a
 * comma, or the end of the line for the last field of a row.
 */

import { MAX_UNITS } from "../domain/limits.ts";
import { ReplayInputError } from "./csv_row_error.ts";

const COMMA = 44;
const LF = 10;
const CR = 13;
const DOT = 46;
const ZERO = 48;
/** floor(MAX_UNITS / 10): above it, v × 10 + d overflows (at it, only if d > 1). */
const MAX_TENTH = 900719925474099;
const decoder = new TextDecoder();

export class CsvScanner {
  pos = 0;
  /** Number of the line being read (1-based). */
  line = 1;
  /** Offset where the current line starts. */
  lineStart = 0;
  readonly end: number;
  /** Columns a row must have, for the message when it has another number. */
  columns = 0;

  constructor(readonly bytes: Uint8Array, readonly path: string) {
    this.end = bytes.length;
    // A UTF-8 byte order mark is not part of the header.
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.pos = this.lineStart = 3;
  }

  /** True once every line has been read. */
  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Reads the rest of the current line as text (without its end) and moves to the next. */
  readLine(): string {
    const stop = this.eolAt(this.pos);
    let textEnd = stop;
    if (textEnd > this.pos && this.bytes[textEnd - 1] === CR) textEnd--;
    const text = decoder.decode(this.bytes.subarray(this.pos, textEnd));
    this.pos = stop;
    this.skipEol();
    return text;
  }

  /**
   * Parses a non-negative integer field (at most 2^53 - 1) and consumes its terminator;
   * `last` says whether it must end the row.
   */
  uint(field: string, last: boolean): number {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    let v = 0;
    while (p < this.end) {
      const d = b[p] - ZERO;
      if (d < 0 || d > 9) break;
      if (v >= MAX_TENTH && (v > MAX_TENTH || d > 1)) {
        this.fail(`${field} is too large, received "${this.fieldText(start)}"`);
      }
      v = v * 10 + d;
      p++;
    }
    if (p === start || !this.isTerminator(p)) {
      this.fail(`${field} must be a non-negative integer, received "${this.fieldText(start)}"`);
    }
    this.pos = p;
    this.endField(last);
    return v;
  }

  /**
   * Parses a decimal field such as "85251.66" exactly into integer units with `decimals`
   * places ("85251.66" with 2 is 8525166) and consumes its terminator. Like
   * `parseUnits`: digits with an optional fraction, no sign or exponent; zeros beyond
   * `decimals` are accepted ("1.50" with 1 place), any other extra digit is an error, as
   * is a value above 2^53 - 1. Zero is returned as 0: whether it is valid is the engine's
   * call, not the file format's.
   */
  decimal(field: string, decimals: number, last: boolean): number {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    let v = 0;
    let tooLarge = false;
    while (p < this.end) {
      const d = b[p] - ZERO;
      if (d < 0 || d > 9) break;
      if (v >= MAX_TENTH && (v > MAX_TENTH || d > 1)) tooLarge = true;
      v = v * 10 + d;
      p++;
    }
    let ok = p > start;
    let fracDigits = 0;
    let extra = false;
    if (ok && p < this.end && b[p] === DOT) {
      p++;
      const fracStart = p;
      while (p < this.end) {
        const d = b[p] - ZERO;
        if (d < 0 || d > 9) break;
        if (fracDigits < decimals) {
          if (v >= MAX_TENTH && (v > MAX_TENTH || d > 1)) tooLarge = true;
          v = v * 10 + d;
          fracDigits++;
        } else if (d !== 0) {
          extra = true;
        }
        p++;
      }
      ok = p > fracStart;
    }
    if (!ok || !this.isTerminator(p)) {
      this.fail(`${field} must be a plain decimal number, received "${this.fieldText(start)}"`);
    }
    if (extra) {
      this.fail(
        `${field} has more than ${decimals} decimal places, received "${this.fieldText(start)}"`,
      );
    }
    for (; fracDigits < decimals; fracDigits++) {
      if (v > MAX_TENTH) tooLarge = true;
      v *= 10;
    }
    if (tooLarge || v > MAX_UNITS) {
      this.fail(`${field} is too large, received "${this.fieldText(start)}"`);
    }
    this.pos = p;
    this.endField(last);
    return v;
  }

  /** Reads a text field (non-empty unless `allowEmpty`) and consumes its terminator. */
  text(field: string, last: boolean, allowEmpty = false): string {
    const start = this.pos;
    let p = start;
    while (!this.isTerminator(p)) p++;
    if (p === start && !allowEmpty) this.fail(`${field} must not be empty`);
    const s = decoder.decode(this.bytes.subarray(start, p));
    this.pos = p;
    this.endField(last);
    return s;
  }

  /** True if the cursor is on an empty line. */
  atEmptyLine(): boolean {
    const c = this.bytes[this.pos];
    return c === LF || c === CR;
  }

  /** True if nothing but line ends remain. */
  onlyLineEndsLeft(): boolean {
    for (let p = this.pos; p < this.end; p++) {
      const c = this.bytes[p];
      if (c !== LF && c !== CR) return false;
    }
    return true;
  }

  /** Skips an empty field; fails with `message` if it is not empty. */
  empty(field: string, last: boolean, why: string): void {
    if (!this.isTerminator(this.pos)) {
      this.fail(`${field} must be empty ${why}, received "${this.fieldText(this.pos)}"`);
    }
    this.endField(last);
  }

  /**
   * Matches the field against `words` (ASCII, case-insensitive) and returns the index of
   * the match; fails naming the accepted words otherwise.
   */
  oneOf(field: string, words: readonly string[], last: boolean): number {
    const b = this.bytes;
    const start = this.pos;
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      const n = word.length;
      let i = 0;
      while (i < n && start + i < this.end && (b[start + i] | 0x20) === word.charCodeAt(i)) i++;
      if (i === n && this.isTerminator(start + n)) {
        this.pos = start + n;
        this.endField(last);
        return w;
      }
    }
    const list = words.map((w) => `"${w}"`).join(" or ");
    return this.fail(`${field} must be ${list}, received "${this.fieldText(start)}"`);
  }

  /** Throws a {@link ReplayInputError} for the current line. */
  fail(reason: string): never {
    throw new ReplayInputError(this.path, this.line, reason);
  }

  private isTerminator(p: number): boolean {
    if (p >= this.end) return true;
    const c = this.bytes[p];
    return c === COMMA || c === LF || (c === CR && (p + 1 >= this.end || this.bytes[p + 1] === LF));
  }

  /** Consumes the terminator at the cursor, checking it is the right one for the column. */
  private endField(last: boolean): void {
    const p = this.pos;
    const isComma = p < this.end && this.bytes[p] === COMMA;
    if (last) {
      if (isComma) this.failColumns();
      this.skipEol();
    } else {
      if (!isComma) this.failColumns();
      this.pos = p + 1;
    }
  }

  private skipEol(): void {
    let p = this.pos;
    if (p < this.end && this.bytes[p] === CR) p++;
    if (p < this.end && this.bytes[p] === LF) p++;
    this.pos = this.lineStart = p;
    this.line++;
  }

  /** Reports the line's column count; callers know how many it should have. */
  private failColumns(): never {
    const stop = this.eolAt(this.lineStart);
    let columns = 1;
    for (let p = this.lineStart; p < stop; p++) if (this.bytes[p] === COMMA) columns++;
    throw new ReplayInputError(
      this.path,
      this.line,
      `expected ${this.columns} columns, found ${columns}`,
    );
  }

  /** Offset of the LF ending the line that contains `from` (or the end of the input). */
  private eolAt(from: number): number {
    const i = this.bytes.indexOf(LF, from);
    return i < 0 ? this.end : i;
  }

  /** The text of the field starting at `start`, for messages (at most 64 characters). */
  private fieldText(start: number): string {
    let p = start;
    while (p < this.end) {
      const c = this.bytes[p];
      if (c === COMMA || c === LF || c === CR) break;
      p++;
    }
    const s = decoder.decode(this.bytes.subarray(start, Math.min(p, start + 64)));
    return p - start > 64 ? `${s}...` : s;
  }
}
