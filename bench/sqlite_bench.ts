/**
 * Write throughput of the SQLite storage adapter: 1,000,000 trades, 1,000,000 order
 * versions and 1,000,000 balance versions, each written in batches of 5,000 rows, then the
 * same volume again as mixed settlement batches (a quarter trades, a quarter order
 * versions, half balances), all into one fresh database file. Prints rows/s per phase,
 * the file size, and a few query latencies on the filled store.
 *
 * The pipeline targets 300,000 commands/s with SQLite as its side channel, so the store
 * must write well above 300,000 rows/s. Figures are printed, never asserted.
 *
 *   deno run -A bench/sqlite_bench.ts [--rows 1000000] [--batch 5000] [--users 1000]
 *     [--symbols 10] [--seed 1] [--fsync] [--json] [--keep]
 *
 * `--users` sets how many distinct users trade: every written row lands in a per-user
 * index, so more users means more index pages touched per batch (see the note printed).
 */

import { BenchReport } from "./bench_report.ts";
import { Prng } from "./prng.ts";
import { SqliteStore } from "../persistence/sqlite_store.ts";
import type {
  BalanceRow,
  OrderRow,
  StoragePort,
  TradeRow,
  WriteBatch,
} from "../persistence/storage_port.ts";

/** Rows/s the store must exceed for the pipeline target (commands/s). */
const TARGET_ROWS_PER_S = 300_000;
const ASSETS = 4;
const T0_MS = 1_700_000_000_000;
/** Order versions: a version 2 follows its version 1 this many orders later. */
const ORDER_LAG = 20_000;

interface BenchArgs {
  rows: number;
  batch: number;
  users: number;
  symbols: number;
  seed: number;
  fsync: boolean;
  json: boolean;
  keep: boolean;
}

function parseArgs(args: string[]): BenchArgs {
  const o: BenchArgs = {
    rows: 1_000_000,
    batch: 5_000,
    users: 1_000,
    symbols: 10,
    seed: 1,
    fsync: false,
    json: false,
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--fsync" || a === "--json" || a === "--keep") o[a.slice(2) as "fsync"] = true;
    else if (["--rows", "--batch", "--users", "--symbols", "--seed"].includes(a)) {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      o[a.slice(2) as "rows"] = v;
    } else throw new Error(`Unknown argument "${a}"`);
  }
  return o;
}

/** Deterministic rows of every table, as a settlement stage would produce them. */
class RowSource {
  readonly #rnd: Prng;
  readonly #users: number;
  readonly #symbols: number;
  readonly #balanceVersions: Int32Array;
  #tradeId = 0;
  #orderSeq = 0;
  #tsMs = T0_MS;

  constructor(a: BenchArgs) {
    this.#rnd = new Prng(a.seed);
    this.#users = a.users;
    this.#symbols = a.symbols;
    this.#balanceVersions = new Int32Array(a.users * ASSETS);
  }

  #user(): number {
    return this.#rnd.int(1, this.#users);
  }

  trade(): TradeRow {
    const id = ++this.#tradeId;
    if (id % 50 === 0) this.#tsMs++;
    const price = 5_000_000 + this.#rnd.int(-2_000, 2_000);
    const qty = 1_000 * this.#rnd.int(1, 500);
    return {
      tradeId: id,
      symbolId: id % this.#symbols,
      priceTicks: price,
      qtyUnits: qty,
      quoteUnits: price * qty / 1_000,
      takerSide: id % 2 === 0 ? "BUY" : "SELL",
      makerOrderId: 2 * id,
      takerOrderId: 2 * id + 1,
      makerUserId: this.#user(),
      takerUserId: this.#user(),
      buyerFeeUnits: qty / 1_000,
      sellerFeeUnits: price,
      tsMs: this.#tsMs,
    };
  }

  /** Alternates new orders (version 1) and fills (version 2) of orders placed earlier. */
  orderVersion(): OrderRow {
    const seq = this.#orderSeq++;
    const filled = seq % 2 === 1 && seq > 2 * ORDER_LAG;
    const orderId = filled ? (seq >> 1) - ORDER_LAG + 1 : (seq >> 1) + 1;
    const qty = 1_000 * (1 + orderId % 500);
    return {
      orderId,
      version: filled ? 2 : 1,
      userId: 1 + (orderId * 7_919) % this.#users,
      symbolId: orderId % this.#symbols,
      side: orderId % 2 === 0 ? "BUY" : "SELL",
      orderType: "LIMIT",
      timeInForce: "GTC",
      priceTicks: 5_000_000 + orderId % 2_000,
      qtyUnits: qty,
      quoteUnits: 0,
      filledUnits: filled ? qty : 0,
      quoteFilledUnits: filled ? qty * 5_000 : 0,
      status: filled ? "FILLED" : "NEW",
      cid: orderId % 4 === 0 ? `c-${orderId}` : null,
      postOnly: false,
      stp: "NONE",
      createdMs: T0_MS + (orderId >> 6),
      updatedMs: this.#tsMs,
    };
  }

  balance(): BalanceRow {
    const userId = this.#user();
    const assetId = this.#rnd.int(1, ASSETS);
    const slot = (userId - 1) * ASSETS + assetId - 1;
    return {
      userId,
      assetId,
      version: ++this.#balanceVersions[slot],
      availableUnits: this.#rnd.int(0, 2 ** 40),
      frozenUnits: this.#rnd.int(0, 2 ** 30),
      tsMs: this.#tsMs,
    };
  }
}

function emptyBatch(): WriteBatch {
  return { orders: [], trades: [], balances: [], candles: [] };
}

type Mix = { trades: number; orders: number; balances: number };

/** Writes `rows` rows in batches of `batchRows` with the given mix; returns write ms. */
async function writePhase(
  store: StoragePort,
  src: RowSource,
  rows: number,
  batchRows: number,
  mix: Mix,
): Promise<number> {
  let writeMs = 0;
  for (let done = 0; done < rows; done += batchRows) {
    const n = Math.min(batchRows, rows - done);
    const b = emptyBatch();
    const trades = Math.round(n * mix.trades), orders = Math.round(n * mix.orders);
    for (let i = 0; i < trades; i++) b.trades.push(src.trade());
    for (let i = 0; i < orders; i++) b.orders.push(src.orderVersion());
    for (let i = trades + orders; i < n; i++) b.balances.push(src.balance());
    const t0 = performance.now();
    await store.write(b);
    writeMs += performance.now() - t0;
  }
  return writeMs;
}

async function timeQuery(label: string, report: BenchReport, run: () => Promise<unknown>) {
  const runs = 200;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await run();
  const us = (performance.now() - t0) * 1_000 / runs;
  report.field(label, `${us.toFixed(0)} µs per query (mean of ${runs})`);
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const a = parseArgs(Deno.args);
  const report = new BenchReport(a.json);
  const dir = await Deno.makeTempDir({ prefix: "sqlite_bench_" });
  const path = `${dir}/exchange.db`;
  const store = new SqliteStore({ path, fsyncEveryBatch: a.fsync });
  await store.init();
  const src = new RowSource(a);
  report.section(
    `SQLite store: ${int(a.rows)} rows per phase, ${int(a.batch)} rows per batch, ` +
      `${int(a.users)} users`,
  );
  report.field("synchronous", a.fsync ? "FULL (fsync per batch)" : "NORMAL (WAL)");
  const phases: [string, Mix][] = [
    ["trades", { trades: 1, orders: 0, balances: 0 }],
    ["order versions", { trades: 0, orders: 1, balances: 0 }],
    ["balance versions", { trades: 0, orders: 0, balances: 1 }],
    ["mixed (¼ trades ¼ orders ½ bal.)", { trades: 0.25, orders: 0.25, balances: 0.5 }],
  ];
  let totalMs = 0;
  const wall0 = performance.now();
  for (const [name, mix] of phases) {
    const ms = await writePhase(store, src, a.rows, a.batch, mix);
    totalMs += ms;
    const rate = a.rows / ms * 1_000;
    report.field(name, `${int(rate)} rows/s (${(ms / 1_000).toFixed(2)} s in write)`);
    report.keep(`rowsPerS.${name.split(" ")[0]}`, Math.round(rate));
  }
  const total = a.rows * phases.length;
  const overall = total / totalMs * 1_000;
  report.field("all phases", `${int(overall)} rows/s over ${int(total)} rows`);
  report.field(
    "wall incl. row generation",
    `${((performance.now() - wall0) / 1_000).toFixed(2)} s`,
  );
  report.keep("rowsPerS.overall", Math.round(overall));
  let bytes = 0;
  for await (const e of Deno.readDir(dir)) bytes += (await Deno.stat(`${dir}/${e.name}`)).size;
  report.field("files on disk", `${(bytes / 2 ** 20).toFixed(0)} MiB (db + wal)`);

  report.section("Queries on the filled store");
  let u = 0;
  const nextUser = () => 1 + (u++ * 7_919) % a.users;
  await timeQuery(
    "userTrades (100 rows)",
    report,
    () => store.userTrades(nextUser(), { limit: 100 }),
  );
  await timeQuery("orders (100 rows)", report, () => store.orders(nextUser(), { limit: 100 }));
  await timeQuery(
    "publicTrades (100 rows)",
    report,
    () => store.publicTrades(u++ % a.symbols, 100),
  );
  await timeQuery("balances", report, () => store.balances(nextUser()));
  await timeQuery("order by id", report, () => store.order(1 + (u++ * 131) % 100_000));
  await store.close();
  if (a.keep) report.line(`  kept ${path}`);
  else await Deno.remove(dir, { recursive: true });

  report.target(
    `store writes ≥ ${int(TARGET_ROWS_PER_S)} rows/s (all phases)`,
    `${int(overall)} rows/s`,
    overall >= TARGET_ROWS_PER_S,
  );
  report.finish();
}

if (import.meta.main) await main();
