/**
 * Errors of the Binance-compatible API, as Binance sends them: `{"code": -NNNN, "msg":
 * "..."}` with Binance's codes and message strings, so that clients which branch on them
 * (ccxt maps them to InsufficientFunds, OrderNotFound, InvalidOrder, BadSymbol,
 * AuthenticationError...) behave as they do against Binance.
 */

import type { RejectReason } from "../../domain/reject_codes.ts";

/** An error answer: HTTP status, Binance code and message. */
export class BinanceError extends Error {
  constructor(readonly status: number, readonly code: number, msg: string) {
    super(msg);
    this.name = "BinanceError";
  }

  /** The JSON body Binance sends. */
  body(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

/** The errors this API answers with, by Binance's names for them. */
export const BinanceErrors = {
  unknown: (msg = "An unknown error occurred while processing the request.") =>
    new BinanceError(500, -1000, msg),
  unauthorized: () =>
    new BinanceError(401, -1002, "You are not authorized to execute this request."),
  tooManyRequests: (limit: number, per: string) =>
    new BinanceError(
      429,
      -1003,
      `Too much request weight used; current limit is ${limit} request weight per ${per}. Please use WebSocket Streams for live updates to avoid polling the API.`,
    ),
  /** Filter failures: PRICE_FILTER, LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS. */
  filterFailure: (filter: string) => new BinanceError(400, -1013, `Filter failure: ${filter}`),
  invalidQuantity: () => new BinanceError(400, -1013, "Invalid quantity."),
  invalidTimestamp: () =>
    new BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow."),
  timestampAhead: () =>
    new BinanceError(
      400,
      -1021,
      "Timestamp for this request was 1000ms ahead of the server's time.",
    ),
  invalidSignature: () => new BinanceError(400, -1022, "Signature for this request is not valid."),
  illegalChars: (param: string, legal: string) =>
    new BinanceError(
      400,
      -1100,
      `Illegal characters found in parameter '${param}'; legal range is '${legal}'.`,
    ),
  tooManyParameters: (param: string) =>
    new BinanceError(400, -1101, `Duplicate values for parameter '${param}'.`),
  mandatoryParam: (param: string) =>
    new BinanceError(
      400,
      -1102,
      `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`,
    ),
  unknownParam: (param: string) =>
    new BinanceError(400, -1103, `An unknown parameter was sent: '${param}'.`),
  paramNotRequired: (param: string) =>
    new BinanceError(400, -1106, `Parameter '${param}' sent when not required.`),
  badPrecision: (param: string) =>
    new BinanceError(
      400,
      -1111,
      `Parameter '${param}' has too much precision.`,
    ),
  invalidTimeInForce: () => new BinanceError(400, -1115, "Invalid timeInForce."),
  invalidOrderType: () => new BinanceError(400, -1116, "Invalid orderType."),
  invalidSide: () => new BinanceError(400, -1117, "Invalid side."),
  emptyNewClientOrderId: () => new BinanceError(400, -1118, "New client order ID was empty."),
  badInterval: () => new BinanceError(400, -1120, "Invalid interval."),
  badSymbol: () => new BinanceError(400, -1121, "Invalid symbol."),
  invalidListenKey: () => new BinanceError(400, -1125, "This listenKey does not exist."),
  optionalParamsBadCombo: () =>
    new BinanceError(400, -1128, "Combination of optional parameters invalid."),
  /** Binance's -1130 text, then what is wrong with the value. */
  invalidParameter: (param: string, why: string) =>
    new BinanceError(
      400,
      -1130,
      `Data sent for parameter '${param}' is not valid: ${param} ${why}`,
    ),
  /** -2010 NEW_ORDER_REJECTED with one of Binance's reasons. */
  newOrderRejected: (msg: string) => new BinanceError(400, -2010, msg),
  insufficientBalance: () =>
    new BinanceError(400, -2010, "Account has insufficient balance for requested action."),
  wouldTake: () => new BinanceError(400, -2010, "Order would immediately match and take."),
  duplicateOrder: () => new BinanceError(400, -2010, "Duplicate order sent."),
  cancelRejected: () => new BinanceError(400, -2011, "Unknown order sent."),
  noSuchOrder: () => new BinanceError(400, -2013, "Order does not exist."),
  badApiKeyFormat: () => new BinanceError(401, -2014, "API-key format invalid."),
  rejectedApiKey: () =>
    new BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action."),
  serviceUnavailable: () =>
    new BinanceError(
      503,
      -1008,
      "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
} as const;

/** What the rejected command was: the same engine reason reads differently per action. */
export type RejectContext = "new" | "cancel" | "query";

/**
 * The Binance error for an engine rejection. Unknown orders are -2011 when cancelling and
 * -2013 when querying; another user's order is answered as unknown, so that order ids of
 * other users cannot be probed.
 */
export function rejectToBinance(reason: RejectReason, context: RejectContext): BinanceError {
  switch (reason) {
    case "UNKNOWN_SYMBOL":
      return BinanceErrors.badSymbol();
    case "INVALID_PRICE":
      return BinanceErrors.filterFailure("PRICE_FILTER");
    case "INVALID_QTY":
    case "QTY_STEP":
    case "QTY_TOO_SMALL":
    case "QTY_TOO_LARGE":
      return BinanceErrors.filterFailure("LOT_SIZE");
    case "NOTIONAL_TOO_SMALL":
    case "AMOUNT_OVERFLOW":
      return BinanceErrors.filterFailure("NOTIONAL");
    case "TOO_MANY_OPEN_ORDERS":
      return BinanceErrors.filterFailure("MAX_NUM_ORDERS");
    case "DUPLICATE_ORDER_ID":
    case "DUPLICATE_CID":
      return BinanceErrors.duplicateOrder();
    case "INVALID_CID":
      return BinanceErrors.illegalChars("newClientOrderId", "^[\\.A-Z\\:/a-z0-9_-]{1,36}$");
    case "INSUFFICIENT_BALANCE":
      return BinanceErrors.insufficientBalance();
    case "POST_ONLY_WOULD_TAKE":
      return BinanceErrors.wouldTake();
    case "UNKNOWN_ORDER":
    case "NOT_ORDER_OWNER":
      return context === "cancel" ? BinanceErrors.cancelRejected() : BinanceErrors.noSuchOrder();
    case "INVALID_ORDER_SPEC":
    case "INVALID_AMOUNT":
    case "AMEND_INVALID":
    case "UNKNOWN_ASSET":
    case "INVALID_USER":
      return BinanceErrors.newOrderRejected("Order rejected: invalid order.");
  }
}
