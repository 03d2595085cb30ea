/**
 * HMAC-SHA256 in plain TypeScript, with the key's padded blocks hashed once and kept:
 * checking a request's signature then costs the message's blocks plus one more. Why not
 * the platform's: `node:crypto`'s createHmac went through Node's Buffer emulation and took
 * about 6 µs a request here, about a sixth of the server's time per signed order; WebCrypto
 * is asynchronous and took over 30 µs. Checked against WebCrypto in the tests
 * (tests/api/hmac_sha256_test.ts), on random keys and messages of every length class.
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const H0 = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/** Scratch shared by every call (single-threaded, no call re-enters). */
const W = new Int32Array(64);
const BLOCK = new Uint8Array(64);
const INNER = new Uint8Array(32);

/** Compresses the 64-byte block at `bytes[at]` into `h`. */
function compress(h: Int32Array, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    W[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15];
    const b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (hh + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + hh) | 0;
}

/**
 * Finishes a hash whose state `h` has absorbed `prefixBytes` bytes already: absorbs
 * `msg[0..len)`, pads, and writes the 32-byte digest into `out`.
 */
function finish(h: Int32Array, prefixBytes: number, msg: Uint8Array, len: number, out: Uint8Array) {
  let at = 0;
  for (; at + 64 <= len; at += 64) compress(h, msg, at);
  const rest = len - at;
  BLOCK.fill(0);
  BLOCK.set(msg.subarray(at, len));
  BLOCK[rest] = 0x80;
  if (rest >= 56) {
    compress(h, BLOCK, 0);
    BLOCK.fill(0);
  }
  // Length in bits, big-endian, in the last 8 bytes (messages here are far below 2^32 bytes).
  const bits = (prefixBytes + len) * 8;
  const hi = Math.floor(bits / 2 ** 32);
  BLOCK[56] = hi >>> 24;
  BLOCK[57] = hi >>> 16;
  BLOCK[58] = hi >>> 8;
  BLOCK[59] = hi;
  BLOCK[60] = bits >>> 24;
  BLOCK[61] = bits >>> 16;
  BLOCK[62] = bits >>> 8;
  BLOCK[63] = bits;
  compress(h, BLOCK, 0);
  for (let i = 0; i < 8; i++) {
    out[i * 4] = h[i] >>> 24;
    out[i * 4 + 1] = h[i] >>> 16;
    out[i * 4 + 2] = h[i] >>> 8;
    out[i * 4 + 3] = h[i];
  }
}

/** SHA-256 of `msg` (for the tests and for keys longer than a block). */
export function sha256(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  finish(Int32Array.from(H0), 0, msg, msg.length, out);
  return out;
}

/** An HMAC-SHA256 key with its inner and outer padded blocks already hashed. */
export class HmacSha256Key {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly h = new Int32Array(8);

  constructor(key: Uint8Array) {
    const k = key.length > 64 ? sha256(key) : key;
    const pad = new Uint8Array(64);
    this.inner.set(H0);
    pad.fill(0x36);
    for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
    compress(this.inner, pad, 0);
    this.outer.set(H0);
    pad.fill(0x5c);
    for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
    compress(this.outer, pad, 0);
  }

  /** The MAC of `msg[0..len)` into `out` (32 bytes). */
  sign(msg: Uint8Array, len: number, out: Uint8Array): void {
    const h = this.h;
    h.set(this.inner);
    finish(h, 64, msg, len, INNER);
    h.set(this.outer);
    finish(h, 64, INNER, 32, out);
  }
}
