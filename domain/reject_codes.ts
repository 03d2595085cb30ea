/**
 * Stable reason codes for rejected commands, grouped by area like exchange-core's
 * CommandResultCode: validation -1xxx, risk -2xxx, matching -3xxx.
 * Codes never change meaning once published; add new ones at the end of a group.
 */

export const RejectCode = {
  // validation
  UNKNOWN_SYMBOL: -1001,
  UNKNOWN_ASSET: -1002,
  INVALID_PRICE: -1003,
  INVALID_QTY: -1004,
  QTY_STEP: -1005,
  QTY_TOO_SMALL: -1006,
  QTY_TOO_LARGE: -1007,
  NOTIONAL_TOO_SMALL: -1008,
  AMOUNT_OVERFLOW: -1009,
  INVALID_ORDER_SPEC: -1010,
  DUPLICATE_ORDER_ID: -1011,
  DUPLICATE_CID: -1012,
  INVALID_AMOUNT: -1013,
  INVALID_CID: -1014,
  INVALID_USER: -1015,
  // risk
  INSUFFICIENT_BALANCE: -2001,
  TOO_MANY_OPEN_ORDERS: -2002,
  // matching
  UNKNOWN_ORDER: -3001,
  NOT_ORDER_OWNER: -3002,
  AMEND_INVALID: -3003,
  POST_ONLY_WOULD_TAKE: -3004,
} as const;

export type RejectReason = keyof typeof RejectCode;
