/**
 * Request schemas of the native REST API, shared by validation and the OpenAPI
 * document. Decimal values are strings (checked against the symbol's decimals by the
 * handler, which knows the symbol); enums are SCREAMING_CASE; unknown fields are refused.
 */

import { z } from "@hono/zod-openapi";
import { MAX_CID_LENGTH, MAX_DECIMAL_TEXT_LENGTH } from "../domain/limits.ts";
import { KLINE_INTERVALS } from "../domain/kline_intervals.ts";

const decimal = (what: string) =>
  z.string().max(MAX_DECIMAL_TEXT_LENGTH).openapi({ description: what, example: "1.5" });
const symbol = z.string().max(32).openapi({ example: "BTC_USDT" });
const cid = z.string().min(1).max(MAX_CID_LENGTH).openapi({ example: "my-order-1" });
/** A decimal integer in a query string (ids, times, limits). */
const intText = (what: string) =>
  z.string().regex(/^\d{1,15}$/, `${what} must be a non-negative integer`).openapi({
    description: what,
  });

export const SIDE = z.enum(["BUY", "SELL"]);
export const ORDER_TYPE = z.enum(["LIMIT", "MARKET"]);
export const TIME_IN_FORCE = z.enum(["GTC", "IOC", "FOK"]);
export const STP = z.enum(["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]);
export const ORDER_STATUS = z.enum([
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
]);

export const CreateOrderBody = z.strictObject({
  symbol,
  side: SIDE,
  type: ORDER_TYPE,
  price: decimal("limit price, in quote per base (LIMIT only)").optional(),
  qty: decimal("base quantity (LIMIT, MARKET SELL, MARKET BUY by quantity)").optional(),
  quote_qty: decimal("quote amount to spend (MARKET BUY by amount)").optional(),
  time_in_force: TIME_IN_FORCE.optional(),
  post_only: z.boolean().optional(),
  stp: STP.optional(),
  cid: cid.optional(),
}).openapi("CreateOrderRequest");

export const CancelOrderBody = z.strictObject({
  order_id: z.number().int().positive().optional(),
  symbol: symbol.optional(),
  cid: cid.optional(),
}).openapi("CancelOrderRequest");

export const AmendOrderBody = z.strictObject({
  order_id: z.number().int().positive(),
  qty: decimal("new total quantity (filled included)").optional(),
  price: decimal("new limit price (the order loses its time priority)").optional(),
}).openapi("AmendOrderRequest");

export const OrderIdParam = z.object({ order_id: intText("order id") });

export const HistoryQuery = z.strictObject({
  symbol: symbol.optional(),
  status: ORDER_STATUS.optional(),
  start_time: intText("inclusive start, ms").optional(),
  end_time: intText("inclusive end, ms").optional(),
  limit: intText("rows, 1 to 1000 (default 100)").optional(),
  cursor: z.string().max(200).optional(),
});

export const TradeHistoryQuery = HistoryQuery.omit({ status: true });

export const DepthQuery = z.strictObject({
  symbol,
  limit: intText("levels per side, 1 to 5000 (default 100)").optional(),
});

export const KlinesQuery = z.strictObject({
  symbol,
  interval: z.enum(KLINE_INTERVALS),
  start_time: intText("inclusive start of open times, ms").optional(),
  end_time: intText("inclusive end of open times, ms").optional(),
  limit: intText("candles, 1 to 1000 (default 500)").optional(),
});

export const SymbolQuery = z.strictObject({ symbol });

export const PublicTradesQuery = z.strictObject({
  symbol,
  limit: intText("trades, 1 to 1000 (default 100)").optional(),
});

export const UserIdBody = z.strictObject({ user_id: z.number().int().positive() });

export const TransferBody = z.strictObject({
  user_id: z.number().int().positive(),
  asset: z.string().max(16),
  amount: decimal("amount of the asset"),
}).openapi("TransferRequest");

export const UserIdQuery = z.strictObject({ user_id: intText("user id") });

export const ApiKeyParam = z.object({ api_key: z.string().max(64) });

/** The envelope every answer uses. */
export const Envelope = z.object({
  code: z.number().int(),
  msg: z.string(),
  data: z.any().optional(),
}).openapi("Envelope");
