/** How candles look on the wire (REST klines and the kline WebSocket topic alike). */

import type { Market } from "../domain/market_config.ts";
import type { CandleRow } from "../persistence/storage_port.ts";
import type { MarketIndex } from "./market_index.ts";

export interface CandleView {
  open_time: number;
  close_time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quote_volume: string;
  trades: number;
  taker_buy_volume: string;
  taker_buy_quote_volume: string;
  closed: boolean;
}

export function candleView(ix: MarketIndex, m: Market, k: CandleRow): CandleView {
  return {
    open_time: k.openMs,
    close_time: k.closeMs,
    open: ix.price(m, k.openTicks),
    high: ix.price(m, k.highTicks),
    low: ix.price(m, k.lowTicks),
    close: ix.price(m, k.closeTicks),
    volume: ix.qty(m, k.baseVolumeUnits),
    quote_volume: ix.quote(m, k.quoteVolumeUnits),
    trades: k.trades,
    taker_buy_volume: ix.qty(m, k.takerBuyBaseUnits),
    taker_buy_quote_volume: ix.quote(m, k.takerBuyQuoteUnits),
    closed: k.closed,
  };
}
