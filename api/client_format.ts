/**
 * The client's output lines: orders, fills, trades, balances, depth, ticker, exchange
 * info and pushed WebSocket messages, with columns aligned for reading in a terminal.
 */

import type { Data } from "./client_context.ts";
import type { OrderView, PublicTradeView, TradeView } from "./order_views.ts";

/**
 * Pads the columns of `rows` to their widest cell (numbers to the right, words to the
 * left) and joins each row with spaces; a row's last cell is never padded.
 */
export function aligned(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r.map((c, i) => {
      if (i === r.length - 1) return c;
      return /^-?[0-9]/.test(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]);
    }).join(" ").trimEnd()
  );
}

export function listLines(rows: string[][], none: string, nextCursor: string | null): string[] {
  if (rows.length === 0) return [none];
  const lines = aligned(rows);
  if (nextCursor !== null && nextCursor !== undefined) {
    lines.push(`(more not shown: raise --limit, or see next_cursor with --json)`);
  }
  return lines;
}

/** "0.10000000" → "0.1", "1.000" → "1": quantities without their padding zeros. */
function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

/** `order 12 BTC_USDT BUY LIMIT 50000.00 x 0.1 filled 0 NEW` (and `cid X` when set). */
export function orderCells(o: OrderView): string[] {
  const byQuote = Number(o.qty) === 0 && Number(o.quote_qty) > 0;
  const cells = [
    "order",
    String(o.order_id),
    o.symbol,
    o.side,
    o.type,
    o.type === "MARKET" ? "-" : o.price,
    "x",
    byQuote ? `quote ${trimZeros(o.quote_qty)}` : trimZeros(o.qty),
    "filled",
    trimZeros(o.filled_qty),
    o.status,
  ];
  if (o.time_in_force !== "GTC" && o.type === "LIMIT") cells.push(o.time_in_force);
  if (o.cid !== null) cells.push("cid", o.cid);
  return cells;
}

export function orderLine(o: OrderView): string {
  return orderCells(o).join(" ");
}

/** A fill of a new order: `fill 7 0.4 @ 50000.00 TAKER fee 0.0004 BTC`. */
export function fillCells(t: TradeView): string[] {
  return [
    "fill",
    String(t.trade_id),
    trimZeros(t.qty),
    "@",
    t.price,
    t.role,
    "fee",
    trimZeros(t.fee),
    t.fee_asset,
  ];
}

/** One of your trades: `trade 7 BTC_USDT BUY 0.4 @ 50000.00 TAKER fee 0.0004 BTC order 5`. */
export function tradeCells(t: TradeView): string[] {
  return [
    "trade",
    String(t.trade_id),
    t.symbol,
    t.side,
    trimZeros(t.qty),
    "@",
    t.price,
    t.role,
    "fee",
    trimZeros(t.fee),
    t.fee_asset,
    "order",
    String(t.order_id),
    time(t.time),
  ];
}

/** A public trade, its side the taker's: `trade 7 BTC_USDT BUY 0.4 @ 50000.00 <time>`. */
export function publicTradeCells(t: PublicTradeView): string[] {
  return [
    "trade",
    String(t.trade_id),
    t.symbol,
    t.taker_side,
    trimZeros(t.qty),
    "@",
    t.price,
    time(t.time),
  ];
}

export function balanceCells(b: { asset: string; available: string; frozen: string }): string[] {
  return [b.asset, "available", b.available, "frozen", b.frozen];
}

/** The book as a ladder: asks from the highest down to the best, then bids from the best. */
export function depthLines(d: Data): string[] {
  const asks = (d.asks as [string, string][]).map(([p, q]) => ["ask", p, trimZeros(q)]);
  const bids = (d.bids as [string, string][]).map(([p, q]) => ["bid", p, trimZeros(q)]);
  const header = `${d.symbol} depth, update ${d.update_id}`;
  if (asks.length === 0 && bids.length === 0) return [header, "(empty book)"];
  return [header, ...aligned([...asks.reverse(), ...bids])];
}

export function tickerLines(d: Data): string[] {
  const v = (x: string | null) => x ?? "-";
  return [
    `${d.symbol} last ${v(d.last)} bid ${v(d.best_bid)} ask ${v(d.best_ask)}`,
    `24h open ${v(d.open)} high ${v(d.high)} low ${v(d.low)} volume ${trimZeros(d.volume)} ` +
    `quote volume ${d.quote_volume} trades ${d.trades}`,
  ];
}

export function infoLines(d: Data): string[] {
  return [
    ...aligned(d.assets.map((a: Data) => [
      "asset",
      a.asset,
      "decimals",
      String(a.decimals),
      "display",
      String(a.display_decimals),
    ])),
    ...aligned(d.symbols.map((s: Data) => [
      "symbol",
      s.symbol,
      `${s.base}/${s.quote}`,
      "price_decimals",
      String(s.price_decimals),
      "qty_step",
      trimZeros(s.qty_step),
      "min_qty",
      trimZeros(s.min_qty),
      "max_qty",
      trimZeros(s.max_qty),
      "min_notional",
      trimZeros(s.min_notional),
      "fees_ppm",
      `${s.maker_fee_ppm}/${s.taker_fee_ppm}`,
      "stp",
      s.default_stp,
    ])),
  ];
}

/** One pushed message: a readable line for trades and depth, compact JSON otherwise. */
export function pushLine(m: Data, json: boolean): string {
  const topic = String(m.topic);
  if (json) return JSON.stringify(m);
  if (topic.startsWith("trades.")) return publicTradeCells(m.data).join(" ");
  if (topic.startsWith("depth.")) {
    const symbol = topic.slice("depth.".length);
    const d = m.data;
    if (m.type === "snapshot") {
      return `depth ${symbol} snapshot update ${d.update_id}: ${d.bids.length} bids, ` +
        `${d.asks.length} asks, best ${d.bids[0]?.[0] ?? "-"} / ${d.asks[0]?.[0] ?? "-"}`;
    }
    const level = d.side === "BUY" ? "bid" : "ask";
    return `depth ${symbol} update ${d.update_id} ${level} ${d.price} -> ${trimZeros(d.qty)}`;
  }
  return JSON.stringify(m);
}
