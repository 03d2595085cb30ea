/**
 * Reads a replay input directory in the seed's CSV formats (assets_config.csv,
 * symbols_config.csv, balances_init.csv, orders.csv) into engine configuration, deposits
 * and order rows. Everything is parsed and checked before anything runs: the first
 * problem throws a {@link ReplayInputError} naming the file and line.
 */

import {
  FEE_PPM_DENOMINATOR,
  MAX_ASSET_ID,
  MAX_DECIMALS,
  MAX_SYMBOL_ID,
} from "../domain/limits.ts";
import type { AssetSpec, SymbolSpec } from "../domain/market_config.ts";
import { symbolSpec } from "../domain/market_config.ts";
import { ReplayInputError } from "./csv_row_error.ts";
import { CsvScanner } from "./csv_scanner.ts";
import { OrderColumns, ROW_BUY, ROW_CANCEL } from "./order_columns.ts";

export const ASSETS_FILE = "assets_config.csv";
export const SYMBOLS_FILE = "symbols_config.csv";
export const BALANCES_FILE = "balances_init.csv";
export const ORDERS_FILE = "orders.csv";

/** One row of balances_init.csv: `units` of `assetId` deposited for `userId`. */
export interface DepositRow {
  line: number;
  userId: number;
  assetId: number;
  units: number;
}

/** Which of the two orders.csv layouts the file uses. */
export type OrdersFormat = "places" | "actions";

export interface ReplayInput {
  /** Paths of the four files, for messages. */
  paths: { assets: string; symbols: string; balances: string; orders: string };
  /** Assets in ascending id order. */
  assets: AssetSpec[];
  /** The symbol traded (first row of symbols_config.csv), with the replay's filters. */
  symbol: SymbolSpec;
  deposits: DepositRow[];
  orders: OrderColumns;
  ordersFormat: OrdersFormat;
  /** Largest user id in balances_init.csv and orders.csv (-1 if none). */
  maxUserId: number;
}

const ORDERS_HEADER_PLACES = "order_id,user_id,side,price,qty";
const ORDERS_HEADER_ACTIONS = "order_id,user_id,action,side,price,qty";
const ASSETS_HEADERS = [
  "asset_id,asset,decimals,display_decimals,can_internal_transfer",
  // The seed's older names for the same columns.
  "asset_id,asset,internal_scale,asset_precision,can_internal_transfer",
];
const SYMBOLS_HEADER_SHORT =
  "symbol_id,symbol,base_asset_id,quote_asset_id,price_decimal,price_display_decimal";
const SYMBOLS_HEADER_FEES = `${SYMBOLS_HEADER_SHORT},base_maker_fee,base_taker_fee`;
const BALANCES_HEADER = "user_id,asset_id,avail,frozen,version";

/**
 * Largest input file read (1 GiB, about 30 million order rows): a file is read whole into
 * memory, so the bound keeps a wrong path from exhausting it.
 */
export const MAX_INPUT_FILE_BYTES = 1 << 30;

const SIDES = ["buy", "sell"] as const;
const ACTIONS = ["place", "cancel"] as const;
const BOOLEANS = ["true", "false", "1", "0"] as const;

/**
 * Reads and checks the four input files of `dir`. Returns the parsed input; throws a
 * {@link ReplayInputError} for a missing directory or file, or the first malformed row.
 */
export async function readReplayInput(dir: string): Promise<ReplayInput> {
  await requireDirectory(dir);
  const paths = {
    assets: joinPath(dir, ASSETS_FILE),
    symbols: joinPath(dir, SYMBOLS_FILE),
    balances: joinPath(dir, BALANCES_FILE),
    orders: joinPath(dir, ORDERS_FILE),
  };
  const [assetBytes, symbolBytes, balanceBytes, orderBytes] = await Promise.all([
    readInputFile(paths.assets),
    readInputFile(paths.symbols),
    readInputFile(paths.balances),
    readInputFile(paths.orders),
  ]);
  const assets = parseAssets(assetBytes, paths.assets);
  const symbol = parseSymbols(symbolBytes, paths.symbols, assets);
  const deposits = parseBalances(balanceBytes, paths.balances, assets);
  const base = assets.find((a) => a.id === symbol.baseAssetId) as AssetSpec;
  const { orders, format, maxUserId } = parseOrders(
    orderBytes,
    paths.orders,
    symbol.priceDecimals,
    base.decimals,
  );
  let maxUser = maxUserId;
  for (const d of deposits) if (d.userId > maxUser) maxUser = d.userId;
  return { paths, assets, symbol, deposits, orders, ordersFormat: format, maxUserId: maxUser };
}

/** Parses assets_config.csv; returns the assets sorted by id. */
export function parseAssets(bytes: Uint8Array, path: string): AssetSpec[] {
  const s = new CsvScanner(bytes, path);
  s.columns = 5;
  expectHeader(s, ASSETS_HEADERS);
  const assets: AssetSpec[] = [];
  const seen = new Set<number>();
  while (!atRowsEnd(s)) {
    const id = s.uint("asset_id", false);
    const name = s.text("asset", false);
    const decimals = s.uint("decimals", false);
    const displayDecimals = s.uint("display_decimals", false);
    s.oneOf("can_internal_transfer", BOOLEANS, true);
    const line = s.line - 1;
    if (id > MAX_ASSET_ID) {
      rowError(path, line, `asset_id must be at most ${MAX_ASSET_ID}, received ${id}`);
    }
    if (seen.has(id)) rowError(path, line, `duplicate asset_id ${id}`);
    if (decimals > MAX_DECIMALS) {
      rowError(path, line, `decimals must be at most ${MAX_DECIMALS}, received ${decimals}`);
    }
    if (displayDecimals > decimals) {
      rowError(
        path,
        line,
        `display_decimals must be at most decimals (${decimals}), received ${displayDecimals}`,
      );
    }
    seen.add(id);
    assets.push({ id, name, decimals, displayDecimals });
  }
  if (assets.length === 0) throw new ReplayInputError(path, null, "no assets");
  return assets.sort((a, b) => a.id - b.id);
}

/**
 * Parses symbols_config.csv (6 columns, or 8 with maker and taker fees in parts per
 * million) and returns its first symbol, the one traded, with the replay's filters: qty
 * step 1, no minimum notional, self-trades allowed. Later rows are checked, not used.
 */
export function parseSymbols(bytes: Uint8Array, path: string, assets: AssetSpec[]): SymbolSpec {
  const s = new CsvScanner(bytes, path);
  const header = expectHeader(s, [SYMBOLS_HEADER_SHORT, SYMBOLS_HEADER_FEES]);
  const withFees = header === 1;
  s.columns = withFees ? 8 : 6;
  const known = new Set(assets.map((a) => a.id));
  let first: SymbolSpec | undefined;
  const seen = new Set<number>();
  while (!atRowsEnd(s)) {
    const id = s.uint("symbol_id", false);
    const name = s.text("symbol", false);
    const baseAssetId = s.uint("base_asset_id", false);
    const quoteAssetId = s.uint("quote_asset_id", false);
    const priceDecimals = s.uint("price_decimal", false);
    const priceDisplayDecimals = s.uint("price_display_decimal", !withFees);
    const makerFeePpm = withFees ? s.uint("base_maker_fee", false) : 0;
    const takerFeePpm = withFees ? s.uint("base_taker_fee", true) : 0;
    const line = s.line - 1;
    if (id > MAX_SYMBOL_ID) {
      rowError(path, line, `symbol_id must be at most ${MAX_SYMBOL_ID}, received ${id}`);
    }
    if (seen.has(id)) rowError(path, line, `duplicate symbol_id ${id}`);
    seen.add(id);
    if (!known.has(baseAssetId)) rowError(path, line, `unknown base_asset_id ${baseAssetId}`);
    if (!known.has(quoteAssetId)) rowError(path, line, `unknown quote_asset_id ${quoteAssetId}`);
    if (baseAssetId === quoteAssetId) {
      rowError(path, line, `base and quote are the same asset ${baseAssetId}`);
    }
    if (priceDecimals > MAX_DECIMALS) {
      rowError(
        path,
        line,
        `price_decimal must be at most ${MAX_DECIMALS}, received ${priceDecimals}`,
      );
    }
    if (priceDisplayDecimals > priceDecimals) {
      rowError(
        path,
        line,
        `price_display_decimal must be at most price_decimal (${priceDecimals}), received ${priceDisplayDecimals}`,
      );
    }
    for (
      const [field, v] of [["base_maker_fee", makerFeePpm], [
        "base_taker_fee",
        takerFeePpm,
      ]] as const
    ) {
      if (v > FEE_PPM_DENOMINATOR) {
        rowError(
          path,
          line,
          `${field} must be at most ${FEE_PPM_DENOMINATOR} (ppm), received ${v}`,
        );
      }
    }
    first ??= symbolSpec({
      id,
      name,
      baseAssetId,
      quoteAssetId,
      priceDecimals,
      priceDisplayDecimals,
      qtyStepUnits: 1,
      minQtyUnits: 1,
      minNotionalUnits: 0,
      makerFeePpm,
      takerFeePpm,
      defaultStp: "NONE",
    });
  }
  if (first === undefined) throw new ReplayInputError(path, null, "no symbols");
  return first;
}

/** Parses balances_init.csv: `avail` is deposited; `frozen` and `version` are ignored. */
export function parseBalances(bytes: Uint8Array, path: string, assets: AssetSpec[]): DepositRow[] {
  const s = new CsvScanner(bytes, path);
  s.columns = 5;
  expectHeader(s, [BALANCES_HEADER]);
  const known = new Set(assets.map((a) => a.id));
  const rows: DepositRow[] = [];
  while (!atRowsEnd(s)) {
    const line = s.line;
    const userId = s.uint("user_id", false);
    const assetId = s.uint("asset_id", false);
    if (!known.has(assetId)) s.fail(`unknown asset_id ${assetId}`);
    const units = s.uint("avail", false);
    s.text("frozen", false, true);
    s.text("version", true, true);
    rows.push({ line, userId, assetId, units });
  }
  return rows;
}

/**
 * Parses orders.csv in either layout, detected from the header: `order_id,user_id,side,
 * price,qty` (every row a place) or `order_id,user_id,action,side,price,qty` (`place` or
 * `cancel`; a cancel has empty side, price and qty). Prices are converted exactly with
 * `priceDecimals`, quantities with `qtyDecimals`.
 */
export function parseOrders(
  bytes: Uint8Array,
  path: string,
  priceDecimals: number,
  qtyDecimals: number,
): { orders: OrderColumns; format: OrdersFormat; maxUserId: number } {
  const s = new CsvScanner(bytes, path);
  const header = expectHeader(s, [ORDERS_HEADER_PLACES, ORDERS_HEADER_ACTIONS]);
  const actions = header === 1;
  s.columns = actions ? 6 : 5;
  // Rows are at least 11 bytes long: size the columns once for the common case.
  const orders = new OrderColumns(Math.max(1024, Math.ceil(bytes.length / 24)));
  let maxUserId = -1;
  while (!atRowsEnd(s)) {
    const orderId = s.uint("order_id", false);
    const userId = s.uint("user_id", false);
    if (userId > maxUserId) maxUserId = userId;
    if (actions && s.oneOf("action", ACTIONS, false) === 1) {
      s.empty("side", false, "in a cancel row");
      s.empty("price", false, "in a cancel row");
      s.empty("qty", true, "in a cancel row");
      orders.push(ROW_CANCEL, orderId, userId, 0, 0);
      continue;
    }
    const side = s.oneOf("side", SIDES, false);
    const priceTicks = s.decimal("price", priceDecimals, false);
    const qtyUnits = s.decimal("qty", qtyDecimals, true);
    orders.push(ROW_BUY + side, orderId, userId, priceTicks, qtyUnits);
  }
  return { orders, format: actions ? "actions" : "places", maxUserId };
}

/** Reads the header line and returns the index of the accepted header it matches. */
function expectHeader(s: CsvScanner, accepted: readonly string[]): number {
  if (s.atEnd()) s.fail("empty file: expected a header line");
  const raw = s.readLine();
  const header = raw.split(",").map((c) => c.trim().toLowerCase()).join(",");
  const i = accepted.indexOf(header);
  if (i < 0) {
    throw new ReplayInputError(
      s.path,
      1,
      `unknown header "${raw}", expected ${accepted.map((h) => `"${h}"`).join(" or ")}`,
    );
  }
  return i;
}

/** True at the end of the rows; trailing empty lines are allowed, others are not. */
function atRowsEnd(s: CsvScanner): boolean {
  if (s.atEnd()) return true;
  if (!s.atEmptyLine()) return false;
  if (s.onlyLineEndsLeft()) return true;
  return s.fail("empty line");
}

function rowError(path: string, line: number, reason: string): never {
  throw new ReplayInputError(path, line, reason);
}

async function requireDirectory(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ReplayInputError(dir, null, "input directory not found");
    }
    throw e;
  }
  if (!info.isDirectory) throw new ReplayInputError(dir, null, "input is not a directory");
}

async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ReplayInputError(path, null, "input is not a file");
    if (info.size > MAX_INPUT_FILE_BYTES) {
      throw new ReplayInputError(
        path,
        null,
        `input file is larger than ${MAX_INPUT_FILE_BYTES} bytes (${info.size}); split it`,
      );
    }
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ReplayInputError(path, null, "input file not found");
    }
    throw e;
  }
}

/** Joins a directory and a file name with one separator. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? `${dir}${name}` : `${dir}/${name}`;
}
