/**
 * WebSocket topics: parsing `trades.BTC_USDT`, `depth.BTC_USDT`, `kline.1m.BTC_USDT`,
 * `ticker.BTC_USDT` (public) and `orders`, `user_trades`, `balances` (private, after
 * login), and deciding which change-log entries belong to which topic.
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";
import type { BalanceChanged, BookDelta, OrderUpdated, TradeEvent } from "../domain/events.ts";
import { isKlineInterval, type KlineInterval } from "../domain/kline_intervals.ts";
import type { CandleRow } from "../persistence/storage_port.ts";
import type { MarketIndex } from "./market_index.ts";

export type Topic =
  | { kind: "trades"; name: string; symbolId: number }
  | { kind: "depth"; name: string; symbolId: number }
  | { kind: "kline"; name: string; symbolId: number; interval: KlineInterval }
  | { kind: "ticker"; name: string; symbolId: number }
  | { kind: "orders"; name: string }
  | { kind: "user_trades"; name: string }
  | { kind: "balances"; name: string };

export const PRIVATE_TOPICS = new Set(["orders", "user_trades", "balances"]);

/** The topic named `name`, or a message saying what is wrong with it. */
export function parseTopic(ix: MarketIndex, name: unknown): Topic | string {
  if (typeof name !== "string" || name.length === 0 || name.length > 64) {
    return `a topic is a string such as "trades.BTC_USDT", received ${JSON.stringify(name)}`;
  }
  if (PRIVATE_TOPICS.has(name)) return { kind: name as "orders", name };
  const parts = name.split(".");
  const symbolOf = (s: string | undefined) => {
    try {
      return ix.symbol(s).spec.id;
    } catch {
      return undefined;
    }
  };
  if (parts.length === 2 && ["trades", "depth", "ticker"].includes(parts[0])) {
    const symbolId = symbolOf(parts[1]);
    if (symbolId === undefined) return `unknown symbol "${parts[1]}" in topic "${name}"`;
    return { kind: parts[0] as "trades", name, symbolId };
  }
  if (parts.length === 3 && parts[0] === "kline") {
    if (!isKlineInterval(parts[1])) return `unknown interval "${parts[1]}" in topic "${name}"`;
    const symbolId = symbolOf(parts[2]);
    if (symbolId === undefined) return `unknown symbol "${parts[2]}" in topic "${name}"`;
    return { kind: "kline", name, symbolId, interval: parts[1] };
  }
  return `unknown topic "${name}": use trades.<SYMBOL>, depth.<SYMBOL>, kline.<interval>.<SYMBOL>, ticker.<SYMBOL>, orders, user_trades or balances`;
}

/** Does `entry` belong to `topic`, for a connection logged in as `userId` (or null)? */
export function entryMatches(
  topic: Topic,
  entry: ChangeLogEntry<unknown>,
  userId: number | null,
): boolean {
  switch (topic.kind) {
    case "trades":
      return entry.type === "trade" && (entry.payload as TradeEvent).symbolId === topic.symbolId;
    case "depth":
      return entry.type === "book" && (entry.payload as BookDelta).symbolId === topic.symbolId;
    case "kline": {
      if (entry.type !== "candle") return false;
      const c = entry.payload as CandleRow;
      return c.symbolId === topic.symbolId && c.interval === topic.interval;
    }
    case "ticker":
      return entry.type === "trade" && (entry.payload as TradeEvent).symbolId === topic.symbolId;
    case "orders":
      return entry.type === "order" && (entry.payload as OrderUpdated).userId === userId;
    case "user_trades": {
      if (entry.type !== "trade") return false;
      const t = entry.payload as TradeEvent;
      return t.makerUserId === userId || t.takerUserId === userId;
    }
    case "balances":
      return entry.type === "balance" && (entry.payload as BalanceChanged).userId === userId;
  }
}
