/**
 * Every bound of the exchange core in one place (STYLE: put a limit on everything).
 */

/** Largest integer the money path represents exactly (2^53 - 1). */
export const MAX_UNITS = Number.MAX_SAFE_INTEGER;

/** Asset ids index dense per-account arrays, so they are small non-negative integers. */
export const MAX_ASSET_ID = 1023;

/** Symbol ids index the engine's book table. */
export const MAX_SYMBOL_ID = 4095;

/** Decimals an asset or a price may have; 10^18 still fits a bigint product comfortably. */
export const MAX_DECIMALS = 18;

/**
 * quote units = price × qty × 10^e with e = quote decimals - price decimals - base
 * decimals; |e| is bounded so that 10^|e| is a safe integer.
 */
export const MAX_SCALE_EXPONENT = 15;

/** User ids below this are looked up in a plain array by the ledger (a Map above). */
export const DENSE_USER_IDS = 1 << 20;

/**
 * Most orders the engine holds open at once (and slots its stores can grow to). The
 * stores reserve address space for this many records and grow in place.
 */
export const MAX_OPEN_ORDERS = 1 << 24;

/** Default bound on a user's open orders across all symbols. */
export const DEFAULT_MAX_OPEN_ORDERS_PER_USER = 10_000;

/** Longest client order id accepted (Binance allows 36). */
export const MAX_CID_LENGTH = 36;

/** Longest decimal string accepted at the API edge. */
export const MAX_DECIMAL_TEXT_LENGTH = 64;

/** Fee rates are parts per million; a rate may not exceed 100 %. */
export const FEE_PPM_DENOMINATOR = 1_000_000;

/** Most levels a depth snapshot returns. */
export const MAX_DEPTH_LEVELS = 5_000;
