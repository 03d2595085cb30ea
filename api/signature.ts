/**
 * Request signing for the REST API and the WebSocket login.
 *
 * A client signs `timestampMs + METHOD + pathWithQuery + body` with its API secret
 * (HMAC-SHA256, lowercase hex). The server rebuilds the same payload and checks the
 * signature in constant time, so the comparison leaks nothing about the expected value.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

/** Length of a lowercase hex HMAC-SHA256 signature: 32 bytes, two characters each. */
export const SIGNATURE_HEX_LENGTH = 64;

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

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
  return createHmac("sha256", secret).update(payload).digest("hex");
}

/**
 * True only if `signatureHex` is exactly the lowercase hex HMAC-SHA256 of `payload` keyed
 * with `secret`. Anything else (uppercase hex, wrong length, non-hex characters, the empty
 * string, a non-string from untyped callers) is false; never throws. The shape check looks
 * only at the client's input; the comparison with the expected signature is constant-time.
 */
export function signatureMatches(secret: string, payload: string, signatureHex: string): boolean {
  if (typeof signatureHex !== "string" || !SIGNATURE_HEX.test(signatureHex)) return false;
  const expected = encoder.encode(signPayload(secret, payload));
  const received = encoder.encode(signatureHex);
  // Both are 64 ASCII bytes here (the regex above), which timingSafeEqual requires.
  if (expected.length !== SIGNATURE_HEX_LENGTH || received.length !== SIGNATURE_HEX_LENGTH) {
    return false;
  }
  return timingSafeEqual(expected, received);
}
