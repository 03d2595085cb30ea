/**
 * How market data looks in Binance's REST shapes: exchange-info symbols with their
 * filters, depth levels, klines as arrays, trades and aggregate trades, book tickers.
 * Decimal strings are exact at the market's own scales (prices in 10^-priceDecimals,
 * quantities in base decimals, quote amounts in quote decimals).
 */

import type { DepthSnapshot } from "../../domain/order_book.ts";
import { MAX_UNITS } from "../../domain/limits.ts";
import type { Market } from "../../domain/market_config.ts";
import { STP_MODES } from "../../domain/types.ts";
import type { CandleRow, TradeRow } from "../../persistence/storage_port.ts";
import type { AuthConfig } from "../service_config.ts";
import type { MarketIndex } from "../market_index.ts";
import { binanceSymbol } from "./binance_markets.ts";

/** Order types the Binance API takes (MARKET by quantity or by quote amount). */
export const BINANCE_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"] as const;

/** One market as `exchangeInfo` lists it. */
export function symbolInfoView(ix: MarketIndex, m: Market) {
  const s = m.spec;
  return {
    symbol: binanceSymbol(m),
    status: "TRADING",
    baseAsset: m.base.name,
    baseAssetPrecision: m.base.decimals,
    quoteAsset: m.quote.name,
    quotePrecision: m.quote.decimals,
    quoteAssetPrecision: m.quote.decimals,
    // The buyer pays fees in base, the seller in quote, each at its asset's scale.
    baseCommissionPrecision: m.base.decimals,
    quoteCommissionPrecision: m.quote.decimals,
    orderTypes: [...BINANCE_ORDER_TYPES],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: ix.price(m, 1),
        maxPrice: ix.price(m, s.maxPriceTicks),
        tickSize: ix.price(m, 1),
      },
      {
        filterType: "LOT_SIZE",
        minQty: ix.qty(m, s.minQtyUnits),
        maxQty: ix.qty(m, s.maxQtyUnits),
        stepSize: ix.qty(m, s.qtyStepUnits),
      },
      {
        filterType: "NOTIONAL",
        minNotional: ix.quote(m, s.minNotionalUnits),
        applyMinToMarket: true,
        // No configured maximum: the largest quote amount the money path represents.
        maxNotional: ix.quote(m, MAX_UNITS),
        applyMaxToMarket: false,
        avgPriceMins: 0,
      },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: s.defaultStp,
    allowedSelfTradePreventionModes: [...STP_MODES],
  };
}

/**
 * The `rateLimits` of `exchangeInfo`: the per-key token bucket of signed requests, as a
 * request weight per second (per minute when the rate is fractional, e.g. 0.5/s).
 */
export function rateLimitsView(auth: AuthConfig) {
  const perSecond = Number.isInteger(auth.ratePerSecond);
  return [{
    rateLimitType: "REQUEST_WEIGHT",
    interval: perSecond ? "SECOND" : "MINUTE",
    intervalNum: 1,
    limit: perSecond ? auth.ratePerSecond : Math.floor(auth.ratePerSecond * 60),
  }];
}

/** A depth snapshot as `GET /api/v3/depth` answers it. */
export function depthView(ix: MarketIndex, m: Market, d: DepthSnapshot) {
  const level = ([ticks, units]: [number, number]) => [ix.price(m, ticks), ix.qty(m, units)];
  return { lastUpdateId: d.updateId, bids: d.bids.map(level), asks: d.asks.map(level) };
}

/** Binance's kline array: open time, OHLC, volume, close time, quote volume, trades... */
export type KlineArray = [
  number,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
  number,
  string,
  string,
  string,
];

export function klineView(ix: MarketIndex, m: Market, k: CandleRow): KlineArray {
  return [
    k.openMs,
    ix.price(m, k.openTicks),
    ix.price(m, k.highTicks),
    ix.price(m, k.lowTicks),
    ix.price(m, k.closeTicks),
    ix.qty(m, k.baseVolumeUnits),
    k.closeMs,
    ix.quote(m, k.quoteVolumeUnits),
    k.trades,
    ix.qty(m, k.takerBuyBaseUnits),
    ix.quote(m, k.takerBuyQuoteUnits),
    "0",
  ];
}

/** A public trade as `GET /api/v3/trades` lists it; the buyer made when the taker sold. */
export function tradeView(ix: MarketIndex, m: Market, t: TradeRow) {
  return {
    id: t.tradeId,
    price: ix.price(m, t.priceTicks),
    qty: ix.qty(m, t.qtyUnits),
    quoteQty: ix.quote(m, t.quoteUnits),
    time: t.tsMs,
    isBuyerMaker: t.takerSide === "SELL",
    isBestMatch: true,
  };
}

/** Trades of one taker order at one price and time, counted as one (Binance's aggTrades). */
export interface AggTrade {
  firstId: number;
  lastId: number;
  priceTicks: number;
  qtyUnits: number;
  tsMs: number;
  buyerMaker: boolean;
}

/** An aggregate trade as `GET /api/v3/aggTrades` lists it; its id is its first trade's. */
export function aggTradeView(ix: MarketIndex, m: Market, a: AggTrade) {
  return {
    a: a.firstId,
    p: ix.price(m, a.priceTicks),
    q: ix.qty(m, a.qtyUnits),
    f: a.firstId,
    l: a.lastId,
    T: a.tsMs,
    m: a.buyerMaker,
    M: true,
  };
}

/** Best bid and ask with their quantities; an empty side shows zeros, as Binance does. */
export function bookTickerView(ix: MarketIndex, m: Market, d: DepthSnapshot) {
  const bid = d.bids[0] ?? [0, 0];
  const ask = d.asks[0] ?? [0, 0];
  return {
    symbol: binanceSymbol(m),
    bidPrice: ix.price(m, bid[0]),
    bidQty: ix.qty(m, bid[1]),
    askPrice: ix.price(m, ask[0]),
    askQty: ix.qty(m, ask[1]),
  };
}
