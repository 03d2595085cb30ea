/**
 * An append-only ASCII byte buffer for large CSV outputs: integers are written digit by
 * digit straight into the bytes (no number-to-string conversion, no string
 * concatenation), and the result is written to disk in one call.
 */

const ZERO = 48;

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.pos;
  }

  /** Makes room for `n` more bytes. Call once per row with the row's upper bound. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Appends one byte (no bounds check beyond {@link reserve}). */
  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Appends ASCII text, reserving room for it. */
  ascii(s: string): void {
    this.reserve(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * Appends a non-negative safe integer in decimal (at most 16 bytes; the caller has
   * reserved them). Throws a RangeError for anything else: output must never be wrong.
   */
  uint(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
      throw new RangeError(`Cannot write ${n}: not a non-negative safe integer`);
    }
    const b = this.buf;
    let len = 1;
    for (let t = 10; t <= n && len < 16; t *= 10) len++;
    let p = this.pos + len;
    this.pos = p;
    let v = n;
    while (v >= 4294967296) {
      const q = Math.floor(v / 10);
      b[--p] = ZERO + (v - q * 10);
      v = q;
    }
    let w = v >>> 0;
    while (w >= 10) {
      const q = (w / 10) >>> 0;
      b[--p] = ZERO + (w - q * 10);
      w = q;
    }
    b[--p] = ZERO + w;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
