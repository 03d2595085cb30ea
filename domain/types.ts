/**
 * The exchange's vocabulary: sides, order types, time in force, self-trade prevention
 * modes and order statuses, as SCREAMING_CASE string constants.
 */

export type Side = "BUY" | "SELL";
export type OrderType = "LIMIT" | "MARKET";
export type TimeInForce = "GTC" | "IOC" | "FOK";
export type StpMode = "NONE" | "EXPIRE_TAKER" | "EXPIRE_MAKER" | "EXPIRE_BOTH";
export type OrderStatus =
  | "NEW"
  | "PARTIALLY_FILLED"
  | "FILLED"
  | "CANCELED"
  | "REJECTED"
  | "EXPIRED";

export const SIDES: readonly Side[] = ["BUY", "SELL"];
export const ORDER_TYPES: readonly OrderType[] = ["LIMIT", "MARKET"];
export const TIME_IN_FORCES: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
export const STP_MODES: readonly StpMode[] = [
  "NONE",
  "EXPIRE_TAKER",
  "EXPIRE_MAKER",
  "EXPIRE_BOTH",
];

/** Why an order ended other than by filling or a user's cancel. */
export type EndReason =
  | "IOC_REMAINDER"
  | "MARKET_REMAINDER"
  | "FOK_NOT_FILLED"
  | "POST_ONLY_WOULD_TAKE"
  | "STP_TAKER"
  | "STP_MAKER"
  | "USER_CANCEL";
