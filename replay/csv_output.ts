/**
 * The replay's outputs: balances_final.csv, orderbook.csv, trades.csv and summary.txt.
 * Each CSV is built as one byte buffer (integers written digit by digit, amounts in
 * integer units) and written with one call.
 */

import type { AssetSpec } from "../domain/market_config.ts";
import type { ReplayInput } from "./csv_input.ts";
import { joinPath } from "./csv_input.ts";
import { ByteWriter } from "./byte_writer.ts";
import type { ReplayRun } from "./replay_run.ts";

export const BALANCES_FINAL_FILE = "balances_final.csv";
export const ORDERBOOK_FILE = "orderbook.csv";
export const TRADES_FILE = "trades.csv";
export const SUMMARY_FILE = "summary.txt";

/** Line that separates the summary's counts (reproducible) from its timings (not). */
export const SUMMARY_TIMING_MARKER = "# timing (varies from run to run)";

const COMMA = 44;
const LF = 10;
/** Upper bound of one output row: a dozen 16-digit fields and their commas. */
const ROW_MAX = 256;

/** Wall-clock figures of one replay, in milliseconds. */
export interface ReplayTimings {
  /** Reading and parsing the four input files. */
  parseMs: number;
  /** Deposits and commands through the engine. */
  runMs: number;
  /** Formatting and writing the outputs. */
  writeMs: number;
  /** Everything, from the start of reading to the last byte written. */
  wallMs: number;
}

/**
 * balances_final.csv: `user_id,asset_id,avail,frozen,version` for every user of
 * balances_init.csv and every configured asset, users then assets ascending. `version`
 * is the number of balance events the engine emitted for that user and asset, the
 * deposit included (0: never touched).
 */
export function formatBalances(run: ReplayRun, assets: readonly AssetSpec[]): Uint8Array {
  const w = new ByteWriter(64 + run.userIds.length * assets.length * 48);
  w.ascii("user_id,asset_id,avail,frozen,version\n");
  const ledger = run.engine.ledger;
  for (const userId of run.userIds) {
    const acct = ledger.find(userId);
    for (const a of assets) {
      w.reserve(ROW_MAX);
      w.uint(userId);
      w.byte(COMMA);
      w.uint(a.id);
      w.byte(COMMA);
      w.uint(acct === undefined ? 0 : acct.available[a.id]);
      w.byte(COMMA);
      w.uint(acct === undefined ? 0 : acct.frozen[a.id]);
      w.byte(COMMA);
      w.uint(run.versions.get(userId, a.id));
      w.byte(LF);
    }
  }
  return w.bytes();
}

/**
 * orderbook.csv: the resting orders, `order_id,user_id,side,order_type,price,qty,
 * filled_qty,status`, bids best first then asks best first, time priority within a
 * level. Price in ticks, quantities in base units (qty is the order's original one).
 */
export function formatOrderbook(run: ReplayRun, symbolId: number): Uint8Array {
  const engine = run.engine;
  const w = new ByteWriter(64 + engine.openOrderCount * 72);
  w.ascii("order_id,user_id,side,order_type,price,qty,filled_qty,status\n");
  for (const o of engine.restingOrders(symbolId)) {
    w.reserve(ROW_MAX);
    w.uint(o.orderId);
    w.byte(COMMA);
    w.uint(o.userId);
    w.ascii(o.side === "BUY" ? ",buy,limit," : ",sell,limit,");
    w.uint(o.priceTicks);
    w.byte(COMMA);
    w.uint(o.qtyUnits);
    w.byte(COMMA);
    w.uint(o.filledUnits);
    w.ascii(o.status === "NEW" ? ",NEW\n" : ",PARTIALLY_FILLED\n");
  }
  return w.bytes();
}

/**
 * trades.csv: one row per fill, `trade_id,symbol_id,price,qty,quote_qty,taker_side,
 * maker_order_id,taker_order_id,maker_user_id,taker_user_id,buyer_fee,seller_fee`.
 * Price in ticks, qty and buyer_fee in base units, quote_qty and seller_fee in quote
 * units; taker_side is buy or sell.
 */
export function formatTrades(run: ReplayRun, symbolId: number): Uint8Array {
  const t = run.trades;
  const n = t.length;
  const w = new ByteWriter(256 + n * 112);
  w.ascii(
    "trade_id,symbol_id,price,qty,quote_qty,taker_side,maker_order_id,taker_order_id," +
      "maker_user_id,taker_user_id,buyer_fee,seller_fee\n",
  );
  for (let i = 0; i < n; i++) {
    w.reserve(ROW_MAX);
    w.uint(t.tradeId[i]);
    w.byte(COMMA);
    w.uint(symbolId);
    w.byte(COMMA);
    w.uint(t.priceTicks[i]);
    w.byte(COMMA);
    w.uint(t.qtyUnits[i]);
    w.byte(COMMA);
    w.uint(t.quoteUnits[i]);
    w.ascii(t.takerSell[i] === 1 ? ",sell," : ",buy,");
    w.uint(t.makerOrderId[i]);
    w.byte(COMMA);
    w.uint(t.takerOrderId[i]);
    w.byte(COMMA);
    w.uint(t.makerUserId[i]);
    w.byte(COMMA);
    w.uint(t.takerUserId[i]);
    w.byte(COMMA);
    w.uint(t.buyerFeeUnits[i]);
    w.byte(COMMA);
    w.uint(t.sellerFeeUnits[i]);
    w.byte(LF);
  }
  return w.bytes();
}

/**
 * The reproducible part of summary.txt: `key: value` lines of counts (commands,
 * accepted, rejected with counts by reason, trades, resting orders, fees per asset).
 */
export function formatSummaryCounts(input: ReplayInput, run: ReplayRun): string {
  const c = run.counts;
  const lines = [
    "# replay summary",
    `symbol: ${input.symbol.name}`,
    `orders_format: ${input.ordersFormat}`,
    `deposits: ${c.deposits}`,
    `commands: ${c.commands}`,
    `places: ${c.places}`,
    `cancels: ${c.cancels}`,
    `accepted: ${c.placesAccepted + c.cancelsAccepted}`,
    `rejected: ${c.placesRejected + c.cancelsRejected}`,
  ];
  const reasons = [...c.rejectedByReason.keys()].sort();
  for (const r of reasons) lines.push(`rejected.${r}: ${c.rejectedByReason.get(r)}`);
  lines.push(
    `places_accepted: ${c.placesAccepted}`,
    `places_rejected: ${c.placesRejected}`,
    `cancels_accepted: ${c.cancelsAccepted}`,
    `cancels_rejected: ${c.cancelsRejected}`,
    `trades: ${run.trades.length}`,
    `resting_orders: ${run.engine.openOrderCount}`,
  );
  for (const a of input.assets) lines.push(`fees.${a.name}: ${run.engine.ledger.fees[a.id]}`);
  return lines.join("\n") + "\n";
}

/** The timing part of summary.txt: wall time and its parts, throughput, latencies. */
export function formatSummaryTiming(run: ReplayRun, t: ReplayTimings): string {
  const h = run.latency;
  const us = (ns: number) => (ns / 1000).toFixed(3);
  const rate = (ms: number) => ms > 0 ? Math.round(run.counts.commands / (ms / 1000)) : 0;
  return [
    SUMMARY_TIMING_MARKER,
    `wall_ms: ${t.wallMs.toFixed(1)}`,
    `parse_ms: ${t.parseMs.toFixed(1)}`,
    `run_ms: ${t.runMs.toFixed(1)}`,
    `write_ms: ${t.writeMs.toFixed(1)}`,
    `commands_per_s: ${rate(t.runMs)}`,
    `commands_per_s_end_to_end: ${rate(t.wallMs)}`,
    `latency_us_p50: ${us(h.percentile(50))}`,
    `latency_us_p99: ${us(h.percentile(99))}`,
    `latency_us_p99_9: ${us(h.percentile(99.9))}`,
    `latency_us_max: ${us(h.nsMax)}`,
    `latency_us_mean: ${us(h.mean())}`,
  ].join("\n") + "\n";
}

/** Writes `files` (name → bytes) into `dir`, which must exist, all at once. */
export async function writeOutputFiles(
  dir: string,
  files: ReadonlyArray<readonly [string, Uint8Array]>,
): Promise<void> {
  await Promise.all(files.map(([name, bytes]) => Deno.writeFile(joinPath(dir, name), bytes)));
}
