/**
 * Exact decimal strings at the API edge: parse a decimal string into integer units of a
 * given precision, and format units back for display. No floating point is involved.
 */

import { MAX_DECIMAL_TEXT_LENGTH, MAX_UNITS } from "./limits.ts";

export type ParseUnitsResult = { ok: true; units: number } | { ok: false; message: string };

export interface ParseUnitsOptions {
  /** Name used in messages, e.g. "qty" or "price". */
  field: string;
  /** Accept "0" (default false: values must be positive). */
  allowZero?: boolean;
  /** Largest accepted value in units (default 2^53 - 1). */
  maxUnits?: number;
}

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses `text` such as "12.345" into integer units with `decimals` places
 * ("12.345" with 4 decimals is 123450). Trailing zeros beyond `decimals` are accepted
 * ("1.50" with 1 decimal); any other extra digit is rejected, as are signs, exponents,
 * zero (unless allowed) and values above `maxUnits`. Returns a value, never throws.
 */
export function parseUnits(
  text: unknown,
  decimals: number,
  opts: ParseUnitsOptions,
): ParseUnitsResult {
  const field = opts.field;
  if (typeof text !== "string") {
    return { ok: false, message: `${field} must be a decimal string, received ${describe(text)}` };
  }
  const shown = text.length > MAX_DECIMAL_TEXT_LENGTH
    ? `${text.slice(0, MAX_DECIMAL_TEXT_LENGTH)}...`
    : text;
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    return {
      ok: false,
      message: `${field} is longer than ${MAX_DECIMAL_TEXT_LENGTH} characters, received "${shown}"`,
    };
  }
  if (text.startsWith("-")) {
    return { ok: false, message: `${field} must be positive, received "${text}"` };
  }
  const m = DECIMAL_RE.exec(text);
  if (!m) {
    return { ok: false, message: `${field} must be a plain decimal number, received "${text}"` };
  }
  const intPart = m[1];
  let frac = m[2] ?? "";
  if (frac.length > decimals) {
    const extra = frac.slice(decimals);
    if (!/^0*$/.test(extra)) {
      return {
        ok: false,
        message: `${field} has more than ${decimals} decimal places, received "${text}"`,
      };
    }
    frac = frac.slice(0, decimals);
  }
  const digits = (intPart + frac.padEnd(decimals, "0")).replace(/^0+/, "");
  const maxUnits = opts.maxUnits ?? MAX_UNITS;
  // Compare as bigint: the string may hold far more than 2^53.
  const big = digits === "" ? 0n : BigInt(digits);
  if (big > BigInt(maxUnits)) {
    return { ok: false, message: `${field} is too large, received "${text}"` };
  }
  const units = Number(big);
  if (units === 0 && !opts.allowZero) {
    return { ok: false, message: `${field} must be positive, received "${text}"` };
  }
  return { ok: true, units };
}

/**
 * Formats integer `units` with `decimals` places as a decimal string, showing
 * `displayDecimals` places (default all), truncated toward zero and padded with zeros:
 * formatUnits(123450, 4, 2) is "12.34".
 */
export function formatUnits(units: number, decimals: number, displayDecimals = decimals): string {
  if (!Number.isSafeInteger(units)) {
    throw new RangeError(`Cannot format units: not a safe integer, received ${units}`);
  }
  const negative = units < 0;
  let s = String(negative ? -units : units);
  if (decimals > 0) {
    s = s.padStart(decimals + 1, "0");
    const intPart = s.slice(0, s.length - decimals);
    const frac = s.slice(s.length - decimals, s.length - decimals + displayDecimals);
    s = displayDecimals > 0 ? `${intPart}.${frac}` : intPart;
  }
  return negative ? `-${s}` : s;
}

function describe(v: unknown): string {
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) {
    return String(v);
  }
  return typeof v;
}
