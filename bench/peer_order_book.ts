/**
 * The peer: npm:nodejs-order-book run over the same command stream as the engine. Our
 * limit GTC places become its `limit()` calls (ids as strings, prices in ticks and
 * quantities in units as plain numbers) and our cancels its `cancel()`; the mapping is
 * done before timing, as our commands are pre-generated. The peer only matches: it has no
 * balances, holds, fees or per-fill events, so it does less work per command than we do.
 */

import { OrderBook } from "nodejs-order-book";
import process from "node:process";
import type { Command } from "../domain/commands.ts";

// The part of the peer's API used here. Its package.json points "types" at a file that
// does not exist, so Deno sees the module untyped; these keep the calls checked.
interface PeerLimitOptions {
  id: string;
  side: "buy" | "sell";
  size: number;
  price: number;
}
interface PeerResponse {
  done: unknown[];
  partial: unknown;
  quantityLeft: number;
  err: unknown;
}
interface PeerBook {
  limit(options: PeerLimitOptions): PeerResponse;
  cancel(orderId: string): unknown;
  /** Private in the peer: its open orders by id. */
  orders: Record<string, unknown>;
}

/** One command in the peer's terms. */
export type PeerCommand =
  | { kind: "limit"; options: PeerLimitOptions }
  | { kind: "cancel"; id: string };

/** What one timed pass of the peer did and how long it took. */
export interface PeerRun {
  commands: number;
  seconds: number;
  /** CPU time of the process over the run, as in ApplyRun. */
  cpuSeconds: number;
  commandsPerSecond: number;
  /** Fills (one per maker order touched), counted from its responses. */
  trades: number;
  /** Orders left in its book. */
  resting: number;
  /** Places it refused plus cancels of orders it no longer had. */
  rejects: number;
}

/**
 * Maps our commands to the peer's. Throws on anything the peer comparison does not cover
 * (market orders, amends, cancels by cid): the streams must be the same for the ratio to
 * mean anything.
 */
export function toPeerCommands(commands: readonly Command[]): PeerCommand[] {
  const out: PeerCommand[] = [];
  for (const c of commands) {
    if (c.type === "place") {
      if (
        c.orderType !== "LIMIT" || (c.timeInForce ?? "GTC") !== "GTC" ||
        c.priceTicks === undefined || c.qtyUnits === undefined || c.orderId === undefined
      ) {
        throw new Error(
          `Cannot map to the peer: only LIMIT GTC places with price, qty and order id, received ${
            JSON.stringify(c)
          }`,
        );
      }
      out.push({
        kind: "limit",
        options: {
          id: String(c.orderId),
          side: c.side === "BUY" ? "buy" : "sell",
          size: c.qtyUnits,
          price: c.priceTicks,
        },
      });
    } else if (c.type === "cancel" && c.orderId !== undefined) {
      out.push({ kind: "cancel", id: String(c.orderId) });
    } else {
      throw new Error(`Cannot map to the peer: unsupported command ${JSON.stringify(c)}`);
    }
  }
  return out;
}

/**
 * Runs `setup` (untimed) then `commands` (timed) through a new peer book and returns the
 * figures of the timed part.
 */
export function timePeer(
  commands: readonly PeerCommand[],
  setup: readonly PeerCommand[] = [],
): PeerRun {
  const book: PeerBook = new OrderBook();
  for (const c of setup) {
    if (c.kind === "limit") book.limit(c.options);
    else book.cancel(c.id);
  }
  let trades = 0;
  let rejects = 0;
  const n = commands.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const c = commands[i];
    if (c.kind === "limit") {
      const r = book.limit(c.options);
      if (r.err !== null) {
        rejects++;
        continue;
      }
      // `done` holds the makers it filled, plus the taker itself when it filled fully;
      // `partial` is then the maker it filled in part, if any.
      if (r.quantityLeft === 0) trades += r.done.length - 1 + (r.partial !== null ? 1 : 0);
      else trades += r.done.length;
    } else if (book.cancel(c.id) === undefined) {
      rejects++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const resting = Object.keys(book.orders).length;
  return {
    commands: n,
    seconds,
    cpuSeconds,
    commandsPerSecond: n / seconds,
    trades,
    resting,
    rejects,
  };
}
