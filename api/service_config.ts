/**
 * The service's configuration: built-in defaults, then a JSON file (`--config`), then
 * environment variables, then flags, each overriding the one before. Markets are given
 * with decimal strings (`"0.00001"`) and turned into the domain's integer specs here, so
 * a bad value stops the start with a message naming the field and value.
 */

import { parseUnits } from "../domain/decimal.ts";
import type { AssetSpec, SymbolSpec } from "../domain/market_config.ts";
import { STP_MODES, type StpMode } from "../domain/types.ts";
import { parseTdengineUrl } from "../persistence/tdengine_rest.ts";
import { checkDatabaseName, DEFAULT_TDENGINE_DATABASE } from "../persistence/tdengine_sql.ts";

export type AuthMode = "signed" | "trusted-header";

export interface AuthConfig {
  /** `signed`: HMAC-signed requests (default). `trusted-header`: `X-User-ID`, no check. */
  mode: AuthMode;
  /** A signed request's timestamp may differ from the server's clock by this much. */
  timestampWindowMs: number;
  /** Requests per second per API key (token bucket), and the bucket size. */
  ratePerSecond: number;
  burst: number;
}

export interface ServiceConfig {
  host: string;
  port: number;
  dataDir: string;
  assets: AssetSpec[];
  symbols: SymbolSpec[];
  auth: AuthConfig;
  /** From `--admin-token` or ADMIN_TOKEN; else the data dir's (created on first start). */
  adminToken?: string;
  /** Create two funded demo users with API keys on the first start. */
  demo: boolean;
  /** Where orders, trades, balances and candles are stored for history queries. */
  storage: StorageConfig;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** The file the configuration came from, if any (for the start log). */
  configFile?: string;
}

/** The embedded SQLite file under the data dir, or a TDengine reached over REST. */
export type StorageConfig =
  | { kind: "sqlite" }
  | { kind: "tdengine"; url: string; database: string };

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_DATA_DIR = "./data";
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
export const DEFAULT_AUTH: AuthConfig = {
  mode: "signed",
  timestampWindowMs: 5_000,
  ratePerSecond: 1_000,
  burst: 2_000,
};

/** A market as the configuration file gives it: names and decimal strings. */
export interface SymbolFileSpec {
  name: string;
  base: string;
  quote: string;
  price_decimals: number;
  price_display_decimals?: number;
  /** Base quantity steps, minimum, maximum (decimal strings in base units). */
  qty_step?: string;
  min_qty?: string;
  max_qty?: string;
  /** Smallest order value, in quote (decimal string). */
  min_notional?: string;
  /** Highest price (decimal string). */
  max_price?: string;
  maker_fee_ppm?: number;
  taker_fee_ppm?: number;
  default_stp?: StpMode;
}

export interface AssetFileSpec {
  name: string;
  decimals: number;
  display_decimals?: number;
}

/** The built-in markets when none are configured: BTC_USDT and ETH_USDT. */
export const DEFAULT_ASSETS: AssetFileSpec[] = [
  { name: "BTC", decimals: 8, display_decimals: 6 },
  { name: "ETH", decimals: 8, display_decimals: 5 },
  { name: "USDT", decimals: 6, display_decimals: 2 },
];
export const DEFAULT_SYMBOLS: SymbolFileSpec[] = [
  {
    name: "BTC_USDT",
    base: "BTC",
    quote: "USDT",
    price_decimals: 2,
    qty_step: "0.00001",
    min_qty: "0.00001",
    max_qty: "1000",
    min_notional: "5",
    max_price: "10000000",
    maker_fee_ppm: 1_000,
    taker_fee_ppm: 1_000,
  },
  {
    name: "ETH_USDT",
    base: "ETH",
    quote: "USDT",
    price_decimals: 2,
    qty_step: "0.0001",
    min_qty: "0.0001",
    max_qty: "10000",
    min_notional: "5",
    max_price: "1000000",
    maker_fee_ppm: 1_000,
    taker_fee_ppm: 1_000,
  },
];

export const SERVICE_USAGE = `Usage: deno task start [options]

Options (flags override environment variables, which override the config file):
  --config FILE          JSON configuration (host, port, data_dir, assets, symbols, auth)
  --host HOST            address to listen on (EXCHANGE_HOST; default ${DEFAULT_HOST})
  --port PORT            port to listen on (EXCHANGE_PORT; default ${DEFAULT_PORT}; 0 = any free)
  --data-dir DIR         WALs, snapshots, SQLite store, keys (EXCHANGE_DATA_DIR; default ${DEFAULT_DATA_DIR})
  --admin-token TOKEN    admin bearer token (ADMIN_TOKEN; default: created in the data dir)
  --auth MODE            signed (default) or trusted-header (X-User-ID, for trusted networks only)
  --no-demo              do not create the funded demo users on the first start
  --store KIND           sqlite (default: ./data/exchange.db) or tdengine (EXCHANGE_STORE)
  --tdengine-url URL     taosAdapter REST address, http://user:password@host:6041 (TDENGINE_URL)
  --tdengine-db NAME     TDengine database (TDENGINE_DB; default ${DEFAULT_TDENGINE_DATABASE})
`;

/** A configuration error: the service does not start, and says why. */
export class ConfigError extends Error {}

/**
 * The configuration from `args` (the command line after `start`), `env` and the file
 * `--config` names. Throws ConfigError naming the flag, variable or field at fault.
 */
export async function loadServiceConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<ServiceConfig> {
  const flags = parseFlags(args);
  const file = flags.get("config") ?? env.EXCHANGE_CONFIG;
  const fromFile = file === undefined ? {} : await readConfigFile(file);
  const pick = (flag: string, envName: string, fileKey: string): unknown =>
    flags.get(flag) ?? env[envName] ?? fromFile[fileKey];

  const fileAuth = objectOr(fromFile.auth, "auth");
  const authMode = flags.get("auth") ?? fileAuth.mode ?? DEFAULT_AUTH.mode;
  if (authMode !== "signed" && authMode !== "trusted-header") {
    throw new ConfigError(
      `auth mode must be "signed" or "trusted-header", received ${JSON.stringify(authMode)}`,
    );
  }
  const storage = storageFrom(
    flags.get("store") ?? flags.get("storage") ?? env.EXCHANGE_STORE ?? fromFile.store ??
      fromFile.storage ?? "sqlite",
    flags.get("tdengine-url") ?? env.TDENGINE_URL ?? fromFile.tdengine_url,
    flags.get("tdengine-db") ?? env.TDENGINE_DB ?? fromFile.tdengine_db,
  );
  const { assets, symbols } = marketsFrom(
    fromFile.assets === undefined ? DEFAULT_ASSETS : arrayOf(fromFile.assets, "assets"),
    fromFile.symbols === undefined ? DEFAULT_SYMBOLS : arrayOf(fromFile.symbols, "symbols"),
  );
  const adminToken = flags.get("admin-token") ?? env.ADMIN_TOKEN;
  return {
    host: stringOf(pick("host", "EXCHANGE_HOST", "host") ?? DEFAULT_HOST, "host"),
    port: intIn(pick("port", "EXCHANGE_PORT", "port") ?? DEFAULT_PORT, "port", 0, 65_535),
    dataDir: stringOf(
      pick("data-dir", "EXCHANGE_DATA_DIR", "data_dir") ?? DEFAULT_DATA_DIR,
      "data dir",
    ),
    assets,
    symbols,
    auth: {
      mode: authMode,
      timestampWindowMs: intIn(
        fileAuth.timestamp_window_ms ?? DEFAULT_AUTH.timestampWindowMs,
        "auth.timestamp_window_ms",
        100,
        600_000,
      ),
      ratePerSecond: intIn(
        fileAuth.rate_per_second ?? DEFAULT_AUTH.ratePerSecond,
        "auth.rate_per_second",
        1,
        10_000_000,
      ),
      burst: intIn(fileAuth.burst ?? DEFAULT_AUTH.burst, "auth.burst", 1, 10_000_000),
    },
    adminToken: adminToken === "" ? undefined : adminToken,
    demo: !flags.has("no-demo") && fromFile.demo !== false,
    storage,
    maxBodyBytes: intIn(
      fromFile.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES,
      "max_body_bytes",
      256,
      1_048_576,
    ),
    configFile: file,
  };
}

const VALUE_FLAGS = new Set([
  "config",
  "host",
  "port",
  "data-dir",
  "admin-token",
  "auth",
  "storage",
  "store",
  "tdengine-url",
  "tdengine-db",
]);
const SWITCH_FLAGS = new Set(["no-demo"]);

/** The storage backend; throws ConfigError for an unknown kind or a bad TDengine setting. */
function storageFrom(kind: unknown, url: unknown, database: unknown): StorageConfig {
  if (kind === "sqlite") return { kind };
  if (kind !== "tdengine") {
    throw new ConfigError(`store must be "sqlite" or "tdengine", received ${JSON.stringify(kind)}`);
  }
  if (url === undefined || url === "") {
    throw new ConfigError(
      "store tdengine needs its address: --tdengine-url http://root:taosdata@host:6041 (or TDENGINE_URL)",
    );
  }
  const db = database ?? DEFAULT_TDENGINE_DATABASE;
  try {
    parseTdengineUrl(stringOf(url, "tdengine url"));
    checkDatabaseName(stringOf(db, "tdengine database"));
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  return { kind, url: url as string, database: db as string };
}

function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (SWITCH_FLAGS.has(name)) {
      if (eq >= 0) throw new ConfigError(`--${name} takes no value, received "${a}"`);
      flags.set(name, "");
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new ConfigError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new ConfigError(`unknown option "--${name}"`);
    }
  }
  return flags;
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

async function readConfigFile(path: string): Promise<Json> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(
      `cannot read the config file ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      `the config file ${path} is not valid JSON: ${e instanceof Error ? e.message : e}`,
    );
  }
  return objectOr(value, `the config file ${path}`);
}

function objectOr(v: unknown, what: string): Json {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError(`${what} must be a JSON object, received ${JSON.stringify(v)}`);
  }
  return v as Json;
}

function arrayOf(v: unknown, what: string): Json[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new ConfigError(`${what} must be a non-empty array, received ${JSON.stringify(v)}`);
  }
  return v.map((x, i) => objectOr(x, `${what}[${i}]`));
}

function stringOf(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") {
    throw new ConfigError(`${what} must be a non-empty string, received ${JSON.stringify(v)}`);
  }
  return v;
}

function intIn(v: unknown, what: string, lo: number, hi: number): number {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < lo || n > hi) {
    throw new ConfigError(
      `${what} must be an integer from ${lo} to ${hi}, received ${JSON.stringify(v)}`,
    );
  }
  return n;
}

function unitsOf(v: unknown, decimals: number, what: string, allowZero = false): number {
  const r = parseUnits(v, decimals, { field: what, allowZero });
  if (!r.ok) throw new ConfigError(r.message);
  return r.units;
}

/** Resolves the file's assets and symbols (names, decimal strings) into domain specs. */
export function marketsFrom(
  assetsIn: readonly Json[],
  symbolsIn: readonly Json[],
): { assets: AssetSpec[]; symbols: SymbolSpec[] } {
  const assets: AssetSpec[] = [];
  const byName = new Map<string, AssetSpec>();
  assetsIn.forEach((a, i) => {
    const name = stringOf(a.name, `assets[${i}].name`);
    if (!/^[A-Z0-9]{1,16}$/.test(name)) {
      throw new ConfigError(`assets[${i}].name must be 1 to 16 of A-Z 0-9, received "${name}"`);
    }
    if (byName.has(name)) throw new ConfigError(`asset ${name} is configured twice`);
    const decimals = intIn(a.decimals, `asset ${name} decimals`, 0, 18);
    const spec: AssetSpec = {
      id: i + 1,
      name,
      decimals,
      displayDecimals: intIn(
        a.display_decimals ?? decimals,
        `asset ${name} display_decimals`,
        0,
        decimals,
      ),
    };
    assets.push(spec);
    byName.set(name, spec);
  });
  const symbols: SymbolSpec[] = [];
  const names = new Set<string>();
  symbolsIn.forEach((s, i) => {
    const name = stringOf(s.name, `symbols[${i}].name`);
    if (names.has(name)) throw new ConfigError(`symbol ${name} is configured twice`);
    names.add(name);
    const asset = (field: string) => {
      const n = stringOf(s[field], `symbol ${name} ${field}`);
      const found = byName.get(n);
      if (found === undefined) {
        throw new ConfigError(`symbol ${name} ${field} names an unknown asset "${n}"`);
      }
      return found;
    };
    const base = asset("base");
    const quote = asset("quote");
    if (base === quote) throw new ConfigError(`symbol ${name} trades ${base.name} against itself`);
    const priceDecimals = intIn(s.price_decimals, `symbol ${name} price_decimals`, 0, 18);
    const stp = s.default_stp ?? "NONE";
    if (!STP_MODES.includes(stp)) {
      throw new ConfigError(
        `symbol ${name} default_stp must be one of ${STP_MODES.join(", ")}, received ${
          JSON.stringify(stp)
        }`,
      );
    }
    const q = (field: string, fallback: number) =>
      s[field] === undefined
        ? fallback
        : unitsOf(s[field], base.decimals, `symbol ${name} ${field}`);
    symbols.push({
      id: i + 1,
      name,
      baseAssetId: base.id,
      quoteAssetId: quote.id,
      priceDecimals,
      priceDisplayDecimals: intIn(
        s.price_display_decimals ?? priceDecimals,
        `symbol ${name} price_display_decimals`,
        0,
        priceDecimals,
      ),
      qtyStepUnits: q("qty_step", 1),
      minQtyUnits: q("min_qty", 1),
      maxQtyUnits: q("max_qty", Number.MAX_SAFE_INTEGER),
      minNotionalUnits: s.min_notional === undefined
        ? 0
        : unitsOf(s.min_notional, quote.decimals, `symbol ${name} min_notional`, true),
      maxPriceTicks: s.max_price === undefined
        ? Number.MAX_SAFE_INTEGER
        : unitsOf(s.max_price, priceDecimals, `symbol ${name} max_price`),
      makerFeePpm: intIn(s.maker_fee_ppm ?? 0, `symbol ${name} maker_fee_ppm`, 0, 100_000),
      takerFeePpm: intIn(s.taker_fee_ppm ?? 0, `symbol ${name} taker_fee_ppm`, 0, 100_000),
      defaultStp: stp,
    });
  });
  return { assets, symbols };
}
