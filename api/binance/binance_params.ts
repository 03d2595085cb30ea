/**
 * Parameters of Binance REST requests: read from the query string and an
 * `application/x-www-form-urlencoded` body together, as Binance does, and checked the way
 * Binance checks them. An empty value counts as not sent; a name sent twice is -1101; a
 * name the endpoint does not read is -1104; a missing one is -1102; a malformed one is
 * -1100 with Binance's legal range.
 */

import { parseUnits } from "../../domain/decimal.ts";
import { MAX_DECIMAL_TEXT_LENGTH } from "../../domain/limits.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";

/** Most parameters one request may carry (query and body together). */
export const MAX_PARAMS = 32;

const INT_RE = /^[0-9]{1,20}$/;
const INT_RANGE = "^[0-9]{1,20}$";
const DECIMAL_RE = /^([0-9]{1,20})(\.[0-9]{1,20})?$/;
const DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";

/** The parameters of one request, by name. */
export class BinanceParams {
  private constructor(private readonly values: Map<string, string>) {}

  /**
   * The parameters of `query` (without "?") and `body`, both url-encoded. Throws -1101 for
   * a name sent twice (in one part or across both) or for more than MAX_PARAMS.
   */
  static parse(query: string, body: string): BinanceParams {
    const values = new Map<string, string>();
    let count = 0;
    for (const part of [query, body]) {
      if (part === "") continue;
      for (const [name, value] of new URLSearchParams(part)) {
        if (++count > MAX_PARAMS) {
          throw new BinanceError(400, -1101, "Too many parameters sent for this endpoint.");
        }
        if (values.has(name)) throw BinanceErrors.tooManyParameters(name);
        values.set(name, value);
      }
    }
    return new BinanceParams(values);
  }

  /** Number of parameters sent (empty ones included). */
  get size(): number {
    return this.values.size;
  }

  /**
   * Throws -1104 (Binance's "not all sent parameters were read") if a parameter other than
   * `names` was sent.
   */
  only(names: readonly string[]): void {
    let read = 0;
    for (const name of this.values.keys()) if (names.includes(name)) read++;
    if (read !== this.values.size) {
      throw new BinanceError(
        400,
        -1104,
        `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${this.values.size}'.`,
      );
    }
  }

  /** Whether `name` was sent with a non-empty value. */
  has(name: string): boolean {
    return this.optional(name) !== undefined;
  }

  /** Whether `name` was sent at all, even empty. */
  sent(name: string): boolean {
    return this.values.has(name);
  }

  /** The value of `name`, or undefined if it was not sent or is empty. */
  optional(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined || v === "" ? undefined : v;
  }

  /** The value of `name`; -1102 if it was not sent or is empty. */
  required(name: string): string {
    const v = this.optional(name);
    if (v === undefined) throw BinanceErrors.mandatoryParam(name);
    return v;
  }

  /** One of `allowed`, or undefined if not sent; `invalid` (a Binance error) otherwise. */
  optionalEnum<T extends string>(
    name: string,
    allowed: readonly T[],
    invalid: () => BinanceError,
  ): T | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw invalid();
    return v as T;
  }

  /** One of `allowed`; -1102 if not sent, `invalid` (a Binance error) if another value. */
  requiredEnum<T extends string>(
    name: string,
    allowed: readonly T[],
    invalid: () => BinanceError,
  ): T {
    const v = this.optionalEnum(name, allowed, invalid);
    if (v === undefined) throw BinanceErrors.mandatoryParam(name);
    return v;
  }

  /**
   * A non-negative integer (ids, times, limits), or undefined if not sent. -1100 unless it
   * is 1 to 20 digits; -1130 if it is above 2^53 - 1.
   */
  optionalInt(name: string): number | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    if (!INT_RE.test(v)) throw BinanceErrors.illegalChars(name, INT_RANGE);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) {
      throw BinanceErrors.invalidParameter(name, `must be at most ${Number.MAX_SAFE_INTEGER}.`);
    }
    return n;
  }

  /** A non-negative integer that must be sent (-1102 if not; see optionalInt). */
  requiredInt(name: string): number {
    const n = this.optionalInt(name);
    if (n === undefined) throw BinanceErrors.mandatoryParam(name);
    return n;
  }

  /** An integer in [min, max], `fallback` when not sent; -1130 outside the range. */
  intIn(name: string, min: number, max: number, fallback: number): number {
    const n = this.optionalInt(name);
    if (n === undefined) return fallback;
    if (n < min || n > max) {
      throw BinanceErrors.invalidParameter(name, `must be between ${min} and ${max}.`);
    }
    return n;
  }

  /** "true" or "false" (Binance's booleans), `fallback` when not sent. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (v !== "true" && v !== "false") throw BinanceErrors.illegalChars(name, "true, false");
    return v === "true";
  }
}

/** Why a decimal parameter was refused, so that each endpoint answers Binance's error. */
export type DecimalProblem = "TOO_PRECISE" | "ZERO" | "TOO_LARGE";

/**
 * A decimal parameter in integer units with `decimals` places: the units, or what is
 * wrong with it. Throws -1100 (with Binance's legal range) if it is not a plain decimal
 * number.
 */
export function decimalUnits(
  name: string,
  text: string,
  decimals: number,
): { units: number } | { problem: DecimalProblem } {
  if (text.length > MAX_DECIMAL_TEXT_LENGTH || !DECIMAL_RE.test(text)) {
    throw BinanceErrors.illegalChars(name, DECIMAL_RANGE);
  }
  const r = parseUnits(text, decimals, { field: name, allowZero: true });
  if (r.ok) return r.units === 0 ? { problem: "ZERO" } : { units: r.units };
  // The text is a plain decimal, so parseUnits refuses only extra decimals or size.
  const frac = text.split(".")[1] ?? "";
  return { problem: frac.replace(/0+$/, "").length > decimals ? "TOO_PRECISE" : "TOO_LARGE" };
}
