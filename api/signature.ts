/**
 * Request signing for the REST API and the WebSocket login.
 *
 * A client signs `timestampMs + METHOD + pathWithQuery + body` with its API secret
 * (HMAC-SHA256, lowercase hex). The server rebuilds the same payload and checks the
 * signature in constant time, so the comparison leaks nothing about the expected value.
 */

import { HmacSha256Key } from "./hmac_sha256.ts";

/** Length of a lowercase hex HMAC-SHA256 signature: 32 bytes, two characters each. */
export const SIGNATURE_HEX_LENGTH = 64;

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();
const HEX = "0123456789abcdef";

/** Keys already prepared, by secret; cleared when it reaches the bound. */
const keys = new Map<string, HmacSha256Key>();
const MAX_CACHED_KEYS = 100_000;
/** Scratch for the payload's UTF-8 bytes (grown when a payload needs more). */
let scratch = new Uint8Array(4096);
const mac = new Uint8Array(32);

function keyOf(secret: string): HmacSha256Key {
  let k = keys.get(secret);
  if (k === undefined) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    k = new HmacSha256Key(encoder.encode(secret));
    keys.set(secret, k);
  }
  return k;
}

/** The MAC of `payload` with `secret`, into the shared `mac` bytes. */
function macOf(secret: string, payload: string): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (payload.length * 3 > scratch.length) scratch = new Uint8Array(payload.length * 3);
  const { written } = encoder.encodeInto(payload, scratch);
  keyOf(secret).sign(scratch, written, mac);
  return mac;
}

/**
 * The text a request signature covers: `timestampMs + method.toUpperCase() + pathWithQuery
 * + body`, in that order, with no separators. `pathWithQuery` includes the leading "?" and
 * query string when there is one; `body` is the raw body text ("" when there is none).
 * Never throws.
 */
export function signaturePayload(
  timestampMs: string,
  method: string,
  pathWithQuery: string,
  body: string,
): string {
  return timestampMs + method.toUpperCase() + pathWithQuery + body;
}

/**
 * The lowercase hex HMAC-SHA256 of `payload` (UTF-8) keyed with `secret` (UTF-8): 64
 * characters in [0-9a-f]. Never throws.
 */
export function signPayload(secret: string, payload: string): string {
  const m = macOf(secret, payload);
  let hex = "";
  for (let i = 0; i < 32; i++) hex += HEX[m[i] >>> 4] + HEX[m[i] & 15];
  return hex;
}

/**
 * True only if `signatureHex` is exactly the lowercase hex HMAC-SHA256 of `payload` keyed
 * with `secret`. Anything else (uppercase hex, wrong length, non-hex characters, the empty
 * string, a non-string from untyped callers) is false; never throws. The shape check looks
 * only at the client's input; the comparison with the expected signature is constant-time.
 */
export function signatureMatches(secret: string, payload: string, signatureHex: string): boolean {
  if (typeof signatureHex !== "string" || !SIGNATURE_HEX.test(signatureHex)) return false;
  const m = macOf(secret, payload);
  // Every character is compared whatever the others are: no early exit to time.
  let diff = 0;
  for (let i = 0; i < 32; i++) {
    diff |= signatureHex.charCodeAt(2 * i) ^ HEX.charCodeAt(m[i] >>> 4);
    diff |= signatureHex.charCodeAt(2 * i + 1) ^ HEX.charCodeAt(m[i] & 15);
  }
  return diff === 0;
}
