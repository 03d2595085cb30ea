/** Query-string values already shaped by the schemas, checked against their bounds. */

import { ApiError } from "./api_errors.ts";

/** `text` (digits, or undefined for `fallback`) as an integer in [lo, hi]. */
export function intParam(
  text: string | undefined,
  field: string,
  lo: number,
  hi: number,
  fallback?: number,
): number {
  if (text === undefined) {
    if (fallback === undefined) throw ApiError.of("INVALID_PARAMETER", `${field} is required`);
    return fallback;
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) {
    throw ApiError.of(
      "INVALID_PARAMETER",
      `${field} must be an integer from ${lo} to ${hi}, received "${text}"`,
    );
  }
  return n;
}

/** An optional time bound in ms. */
export function timeParam(text: string | undefined, field: string): number | undefined {
  return text === undefined ? undefined : intParam(text, field, 0, Number.MAX_SAFE_INTEGER);
}
