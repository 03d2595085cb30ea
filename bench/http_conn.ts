/**
 * One keep-alive HTTP/1.1 connection of the API bench's load generator: writes a
 * request, reads its answer (Content-Length or chunked body), one request at a time.
 * Hand-written over `Deno.connect` rather than `fetch` so that the generator spends as
 * little CPU per request as it can (like wrk): on two cores, whatever the generator burns
 * is taken from the server under test. It parses only what it needs: the status, the
 * body length, the body text.
 */

const CRLF_CRLF = [13, 10, 13, 10];
/** Largest answer (headers + body) a connection accepts: the bench's answers are small. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 64 * 1024;

const decoder = new TextDecoder();

/** An HTTP answer: status and body text. */
export interface HttpAnswer {
  status: number;
  body: string;
}

export class HttpConnection {
  private buf = new Uint8Array(READ_CHUNK_BYTES * 2);
  private start = 0;
  private end = 0;

  private constructor(private readonly conn: Deno.TcpConn) {}

  /** Connects to `hostname:port` (TCP_NODELAY on). Throws the connect error. */
  static async open(hostname: string, port: number): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new HttpConnection(conn);
  }

  /**
   * Sends `request` (a complete HTTP/1.1 request) and returns the answer. Throws if the
   * server closes the connection, or sends an answer this parser cannot read; the
   * connection is unusable afterwards.
   */
  async send(request: Uint8Array): Promise<HttpAnswer> {
    for (let off = 0; off < request.length;) off += await this.conn.write(request.subarray(off));
    const headEnd = await this.fill(() => this.indexOfHeadEnd());
    const head = decoder.decode(this.buf.subarray(this.start, headEnd));
    const status = Number(head.slice(9, 12));
    if (!head.startsWith("HTTP/1.1 ") || !Number.isInteger(status)) {
      throw new Error(`Cannot read the answer: bad status line "${head.slice(0, 40)}"`);
    }
    const lower = head.toLowerCase();
    this.start = headEnd + 4;
    const lengthAt = lower.indexOf("\r\ncontent-length:");
    if (lengthAt >= 0) {
      const length = parseInt(lower.slice(lengthAt + 17, lower.indexOf("\r", lengthAt + 2)), 10);
      if (!Number.isSafeInteger(length) || length < 0 || length > MAX_ANSWER_BYTES) {
        throw new Error(`Cannot read the answer: bad content-length in "${head}"`);
      }
      await this.fill(() => (this.end - this.start >= length ? 0 : -1));
      const body = decoder.decode(this.buf.subarray(this.start, this.start + length));
      this.start += length;
      return { status, body };
    }
    if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
      return { status, body: await this.chunked() };
    }
    throw new Error(`Cannot read the answer: neither content-length nor chunked in "${head}"`);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  private async chunked(): Promise<string> {
    let body = "";
    for (;;) {
      const lineEnd = await this.fill(() => this.indexOf(13, 10));
      const size = parseInt(decoder.decode(this.buf.subarray(this.start, lineEnd)), 16);
      if (!Number.isSafeInteger(size) || size < 0 || body.length + size > MAX_ANSWER_BYTES) {
        throw new Error("Cannot read the answer: bad chunk size");
      }
      this.start = lineEnd + 2;
      await this.fill(() => (this.end - this.start >= size + 2 ? 0 : -1));
      body += decoder.decode(this.buf.subarray(this.start, this.start + size));
      this.start += size + 2;
      if (size === 0) return body;
    }
  }

  /** Reads until `found()` is not -1 and returns it. */
  private async fill(found: () => number): Promise<number> {
    for (;;) {
      const at = found();
      if (at >= 0) return at;
      if (this.start === this.end) this.start = this.end = 0;
      if (this.buf.length - this.end < READ_CHUNK_BYTES) this.compact();
      const n = await this.conn.read(this.buf.subarray(this.end));
      if (n === null) throw new Error("the server closed the connection");
      this.end += n;
    }
  }

  /** Moves the unread bytes to the front, growing the buffer if a chunk would not fit. */
  private compact(): void {
    const used = this.end - this.start;
    if (used > MAX_ANSWER_BYTES) {
      throw new Error(`Cannot read the answer: larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    if (used + READ_CHUNK_BYTES <= this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const next = new Uint8Array((used + READ_CHUNK_BYTES) * 2);
      next.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = next;
    }
    this.start = 0;
    this.end = used;
  }

  private indexOfHeadEnd(): number {
    const b = this.buf;
    for (let i = this.start; i + 3 < this.end; i++) {
      if (
        b[i] === CRLF_CRLF[0] && b[i + 1] === CRLF_CRLF[1] && b[i + 2] === CRLF_CRLF[2] &&
        b[i + 3] === CRLF_CRLF[3]
      ) return i;
    }
    return -1;
  }

  private indexOf(a: number, b: number): number {
    for (let i = this.start; i + 1 < this.end; i++) {
      if (this.buf[i] === a && this.buf[i + 1] === b) return i;
    }
    return -1;
  }
}
