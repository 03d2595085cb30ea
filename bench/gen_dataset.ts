/**
 * Generates a replay dataset in the seed's CSV formats from the seeded bench command
 * stream (bench/command_stream.ts): assets_config.csv, symbols_config.csv,
 * balances_init.csv and orders.csv (the place/cancel layout). The same options always
 * give the same bytes.
 *
 *   deno run -A bench/gen_dataset.ts --output DIR [--seed N] [--places N] [--cancels N] [--users N]
 */

import { formatUnits } from "../domain/decimal.ts";
import type { AssetSpec } from "../domain/market_config.ts";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "./command_stream.ts";

export interface DatasetOptions {
  seed: number;
  places: number;
  cancels: number;
  users: number;
}

export const DEFAULT_DATASET: DatasetOptions = {
  seed: 1,
  places: 1_000_000,
  cancels: 300_000,
  users: 100,
};

/** What was written. */
export interface DatasetInfo {
  rows: number;
  places: number;
  cancels: number;
  users: number;
}

const encoder = new TextEncoder();
const ROWS_PER_CHUNK = 65_536;

/**
 * Writes the four CSV files of a dataset into `dir` (created if needed) and returns
 * what it wrote. Prices are decimal strings with the symbol's price decimals, quantities
 * with the base asset's decimals, balances in integer units. Throws if the stream holds
 * a command the CSV formats cannot express (a market order).
 */
export async function generateDataset(dir: string, opts: DatasetOptions): Promise<DatasetInfo> {
  const stream = generateStream({
    seed: opts.seed,
    users: opts.users,
    places: opts.places,
    cancels: opts.cancels,
  });
  await Deno.mkdir(dir, { recursive: true });
  const sym = BENCH_SYMBOL;
  const base = assetById(BENCH_ASSETS, sym.baseAssetId);

  await Deno.writeTextFile(
    `${dir}/assets_config.csv`,
    "asset_id,asset,decimals,display_decimals,can_internal_transfer\n" +
      BENCH_ASSETS.map((a) => `${a.id},${a.name},${a.decimals},${a.displayDecimals},true\n`)
        .join(""),
  );
  await Deno.writeTextFile(
    `${dir}/symbols_config.csv`,
    "symbol_id,symbol,base_asset_id,quote_asset_id,price_decimal,price_display_decimal," +
      "base_maker_fee,base_taker_fee\n" +
      `${sym.id},${sym.name},${sym.baseAssetId},${sym.quoteAssetId},${sym.priceDecimals},` +
      `${sym.priceDisplayDecimals},${sym.makerFeePpm},${sym.takerFeePpm}\n`,
  );

  const balances = ["user_id,asset_id,avail,frozen,version\n"];
  for (const c of stream.funding) {
    if (c.type !== "deposit") throw new Error(`Cannot write funding command "${c.type}"`);
    balances.push(`${c.userId},${c.assetId},${c.amountUnits},0,0\n`);
  }
  await Deno.writeTextFile(`${dir}/balances_init.csv`, balances.join(""));

  const file = await Deno.open(`${dir}/orders.csv`, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    let lines: string[] = ["order_id,user_id,action,side,price,qty"];
    let places = 0;
    let cancels = 0;
    for (const c of stream.commands) {
      if (c.type === "cancel") {
        lines.push(`${c.orderId},${c.userId},cancel,,,`);
        cancels++;
      } else if (c.type === "place" && c.orderType === "LIMIT") {
        const side = c.side === "BUY" ? "buy" : "sell";
        const price = formatUnits(c.priceTicks as number, sym.priceDecimals);
        const qty = formatUnits(c.qtyUnits as number, base.decimals);
        lines.push(`${c.orderId},${c.userId},place,${side},${price},${qty}`);
        places++;
      } else {
        throw new Error(`Cannot write command to orders.csv: ${JSON.stringify(c)}`);
      }
      if (lines.length >= ROWS_PER_CHUNK) {
        await writeAll(file, encoder.encode(lines.join("\n") + "\n"));
        lines = [];
      }
    }
    if (lines.length > 0) await writeAll(file, encoder.encode(lines.join("\n") + "\n"));
    return { rows: places + cancels, places, cancels, users: opts.users };
  } finally {
    file.close();
  }
}

function assetById(assets: readonly AssetSpec[], id: number): AssetSpec {
  const a = assets.find((x) => x.id === id);
  if (a === undefined) throw new Error(`Unknown asset id ${id}`);
  return a;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Parses `--name N` / `--name=N` flags; returns the options or a message. */
function parseCli(args: string[]): { dir: string; opts: DatasetOptions } | string {
  const opts = { ...DEFAULT_DATASET };
  let dir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return `${name} needs a value`;
    if (name === "--output") {
      dir = value;
      continue;
    }
    const key = ({
      "--seed": "seed",
      "--places": "places",
      "--cancels": "cancels",
      "--users": "users",
    } as const)[name];
    if (key === undefined) return `unknown argument "${arg}"`;
    const n = Number(value.replaceAll("_", ""));
    if (!Number.isSafeInteger(n) || n < 0 || (key === "users" && n === 0)) {
      return `${name} must be a ${
        key === "users" ? "positive" : "non-negative"
      } integer, received "${value}"`;
    }
    opts[key] = n;
  }
  if (dir === undefined) return "missing --output DIR";
  return { dir, opts };
}

if (import.meta.main) {
  const parsed = parseCli(Deno.args);
  if (typeof parsed === "string") {
    console.error(
      `gen_dataset: ${parsed}\nUsage: gen_dataset --output DIR [--seed N] [--places N] ` +
        `[--cancels N] [--users N] (defaults: seed 1, 1000000 places, 300000 cancels, 100 users)`,
    );
    Deno.exit(2);
  }
  const t0 = performance.now();
  const info = await generateDataset(parsed.dir, parsed.opts);
  console.log(
    `gen_dataset: ${info.rows} rows (${info.places} places, ${info.cancels} cancels, ` +
      `${info.users} users, seed ${parsed.opts.seed}) in ${parsed.dir} ` +
      `(${(performance.now() - t0).toFixed(0)} ms)`,
  );
}
