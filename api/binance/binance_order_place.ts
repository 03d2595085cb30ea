/**
 * POST /api/v3/order: a new order in Binance's terms, checked as Binance checks it,
 * placed on the engine, and answered in the ACK, RESULT or FULL form.
 *
 * LIMIT needs timeInForce (GTC, IOC, FOK), price and quantity; LIMIT_MAKER is a post-only
 * GTC limit, refused with -2010 if it would take; MARKET needs quantity, or for a BUY
 * quoteOrderQty (the engine cannot sell by quote amount). A price or quantity with more
 * decimals than the market allows is refused, never rounded.
 */

import { fail } from "../../domain/assert.ts";
import type { PlaceOrder } from "../../domain/commands.ts";
import type { EngineEvent, OrderAccepted, OrderUpdated, TradeEvent } from "../../domain/events.ts";
import { MAX_CID_LENGTH } from "../../domain/limits.ts";
import type { Market } from "../../domain/market_config.ts";
import { type Side, STP_MODES, type StpMode, TIME_IN_FORCES } from "../../domain/types.ts";
import { type BinanceRequest, SIGNED_PARAMS } from "./binance_auth.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { decimalUnits } from "./binance_params.ts";
import { submitCommand } from "./binance_order_submit.ts";
import {
  type BinanceOrderType,
  fillView,
  type NewOrderRespType,
  orderAckView,
  orderFullView,
  orderResultView,
  stateOfUpdate,
} from "./binance_views.ts";

const PLACE_PARAMS = [
  ...SIGNED_PARAMS,
  "symbol",
  "side",
  "type",
  "timeInForce",
  "quantity",
  "quoteOrderQty",
  "price",
  "newClientOrderId",
  "newOrderRespType",
  "selfTradePreventionMode",
];
const SIDES: readonly Side[] = ["BUY", "SELL"];
const ORDER_TYPES: readonly BinanceOrderType[] = ["LIMIT", "MARKET", "LIMIT_MAKER"];
/** Binance order types this exchange does not run: -1014 rather than "invalid". */
const UNSUPPORTED_TYPES = ["STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"];
const RESP_TYPES: readonly NewOrderRespType[] = ["ACK", "RESULT", "FULL"];
const CID_RE = /^[.A-Z:/a-z0-9_-]+$/;
const CID_RANGE = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$";
const GENERATED_CID_LENGTH = 22;
const CID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Places the order `req` describes and returns Binance's answer; throws the BinanceError
 * of a bad parameter or a rejection (nothing is then placed).
 */
export async function placeOrder(ctx: BinanceContext, req: BinanceRequest): Promise<object> {
  const p = req.params;
  p.only(PLACE_PARAMS);
  const m = ctx.markets.symbol(p.required("symbol"));
  const side = p.requiredEnum("side", SIDES, BinanceErrors.invalidSide);
  const typeText = p.required("type");
  if (UNSUPPORTED_TYPES.includes(typeText)) {
    throw new BinanceError(400, -1014, "Unsupported order combination.");
  }
  const type = p.requiredEnum("type", ORDER_TYPES, BinanceErrors.invalidOrderType);
  const cmd: PlaceOrder = {
    type: "place",
    userId: req.userId,
    symbolId: m.spec.id,
    side,
    orderType: type === "MARKET" ? "MARKET" : "LIMIT",
  };
  if (type === "MARKET") {
    notRequired(p.has("price"), "price");
    notRequired(p.has("timeInForce"), "timeInForce");
    const qty = p.optional("quantity");
    const quote = p.optional("quoteOrderQty");
    if (qty === undefined && quote === undefined) {
      throw new BinanceError(
        400,
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
      );
    }
    notRequired(qty !== undefined && quote !== undefined, "quoteOrderQty");
    // The engine buys by quote amount but cannot sell by one.
    notRequired(quote !== undefined && side === "SELL", "quoteOrderQty");
    if (qty !== undefined) cmd.qtyUnits = quantityUnits(m, qty);
    else cmd.quoteUnits = quoteUnits(m, quote as string);
  } else {
    if (type === "LIMIT") {
      cmd.timeInForce = p.requiredEnum(
        "timeInForce",
        TIME_IN_FORCES,
        BinanceErrors.invalidTimeInForce,
      );
    } else {
      notRequired(p.has("timeInForce"), "timeInForce");
      cmd.timeInForce = "GTC";
      cmd.postOnly = true;
    }
    notRequired(p.has("quoteOrderQty"), "quoteOrderQty");
    cmd.priceTicks = priceTicks(m, p.required("price"));
    cmd.qtyUnits = quantityUnits(m, p.required("quantity"));
  }
  cmd.cid = clientOrderId(p.optional("newClientOrderId"), p.sent("newClientOrderId"));
  const stp = p.optionalEnum<StpMode>(
    "selfTradePreventionMode",
    STP_MODES,
    () => BinanceErrors.illegalChars("selfTradePreventionMode", STP_MODES.join(", ")),
  );
  if (stp !== undefined) cmd.stp = stp;
  const respType = p.optionalEnum<NewOrderRespType>(
    "newOrderRespType",
    RESP_TYPES,
    () => BinanceErrors.illegalChars("newOrderRespType", RESP_TYPES.join(", ")),
  ) ?? (type === "LIMIT_MAKER" ? "ACK" : "FULL");

  const events = await submitCommand(ctx, cmd, "new");
  return answer(ctx, m, events, respType);
}

/** Binance's answer to a place from the engine's events. */
function answer(
  ctx: BinanceContext,
  m: Market,
  events: readonly EngineEvent[],
  respType: NewOrderRespType,
): object {
  const accepted = events.find((e): e is OrderAccepted => e.type === "accepted");
  if (accepted === undefined) {
    fail("the engine answered a place with neither accepted nor rejected");
  }
  const update = lastUpdate(events, accepted.orderId);
  // Every accepted place ends its answer with the order's state (resting or ended).
  if (update === undefined) fail(`the answer to order ${accepted.orderId} has no order update`);
  if (update.status === "REJECTED" && update.reason === "POST_ONLY_WOULD_TAKE") {
    throw BinanceErrors.wouldTake();
  }
  const transactTime = update.createdMs;
  const state = stateOfUpdate(m, update, transactTime, accepted);
  const ix = ctx.deps.markets;
  if (respType === "ACK") return orderAckView(ix, state, transactTime);
  if (respType === "RESULT") return orderResultView(ix, state, transactTime);
  const fills = events
    .filter((e): e is TradeEvent => e.type === "trade" && e.takerOrderId === accepted.orderId)
    .map((t) => fillView(ix, t, accepted.side));
  return orderFullView(ix, state, transactTime, fills);
}

function lastUpdate(events: readonly EngineEvent[], orderId: number): OrderUpdated | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === "order" && e.orderId === orderId) return e;
  }
  return undefined;
}

/**
 * A client order id: `text` if valid (-1118 if sent empty, -1100 outside Binance's
 * charset and length), or a new random one (22 letters and digits, as Binance makes them)
 * when none was sent, so that every order can be found by origClientOrderId.
 */
export function clientOrderId(text: string | undefined, sent: boolean): string {
  if (text === undefined) {
    if (sent) throw BinanceErrors.emptyNewClientOrderId();
    return randomClientOrderId();
  }
  if (text.length > MAX_CID_LENGTH || !CID_RE.test(text)) {
    throw BinanceErrors.illegalChars("newClientOrderId", CID_RANGE);
  }
  return text;
}

/** 22 random letters and digits. */
export function randomClientOrderId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(GENERATED_CID_LENGTH));
  let id = "";
  for (const b of bytes) id += CID_CHARS[b % CID_CHARS.length];
  return id;
}

function priceTicks(m: Market, text: string): number {
  const r = decimalUnits("price", text, m.spec.priceDecimals);
  if ("problem" in r) throw BinanceErrors.filterFailure("PRICE_FILTER");
  return r.units;
}

function quantityUnits(m: Market, text: string): number {
  const r = decimalUnits("quantity", text, m.base.decimals);
  if (!("problem" in r)) return r.units;
  if (r.problem === "TOO_PRECISE") throw BinanceErrors.badPrecision("quantity");
  if (r.problem === "ZERO") throw BinanceErrors.invalidQuantity();
  throw BinanceErrors.filterFailure("LOT_SIZE");
}

function quoteUnits(m: Market, text: string): number {
  const r = decimalUnits("quoteOrderQty", text, m.quote.decimals);
  if (!("problem" in r)) return r.units;
  if (r.problem === "TOO_PRECISE") throw BinanceErrors.badPrecision("quoteOrderQty");
  if (r.problem === "ZERO") throw BinanceErrors.invalidQuantity();
  throw BinanceErrors.filterFailure("NOTIONAL");
}

/** -1106 when a parameter the order type does not take was sent. */
function notRequired(sent: boolean, name: string): void {
  if (sent) throw BinanceErrors.paramNotRequired(name);
}
