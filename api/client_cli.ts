/**
 * The terminal client (`deno task client`): places, cancels and reads orders, reads
 * market data, runs the admin commands and watches WebSocket topics of a running
 * exchange. Requests are signed by {@link SignedClient}; the WebSocket login signs
 * `timestamp + "GET" + "/ws"` with the same {@link signedHeaders}.
 *
 * Exit codes: 0 done, 1 the server refused (`error <code>: <msg>` on stderr) or cannot be
 * reached, 2 bad usage (a one-line error and a hint on stderr).
 */

import { ORDER_STATUS, STP, TIME_IN_FORCE } from "./api_schemas.ts";
import type { OrderView, PublicTradeView, TradeView } from "./order_views.ts";
import {
  type ApiAnswer,
  type ClientCredentials,
  SignedClient,
  signedHeaders,
} from "./signed_client.ts";
import { PRIVATE_TOPICS } from "./ws_topics.ts";

/** Where the client writes: stdout lines and stderr lines. */
export interface CliOutput {
  log(s: string): void;
  error(s: string): void;
}

export const DEFAULT_EXCHANGE_URL = "http://127.0.0.1:8080";
/** How long `watch` waits for the server to acknowledge its login and subscription. */
export const WATCH_ACK_TIMEOUT_MS = 10_000;
/** How long `watch` waits for the socket to close once it is done. */
const WATCH_CLOSE_TIMEOUT_MS = 2_000;

export const CLIENT_USAGE = `Usage: deno task client [options] <command> [arguments]

Talks to a running exchange (deno task start) over its REST API and WebSocket.

Options (anywhere on the line):
  --url URL              exchange address (EXCHANGE_URL; default ${DEFAULT_EXCHANGE_URL})
  --api-key KEY          API key of private commands and topics (EXCHANGE_API_KEY)
  --secret SECRET        its secret (EXCHANGE_SECRET)
  --admin-token TOKEN    admin bearer token of admin commands (ADMIN_TOKEN)
  --json                 print the answer's data as JSON instead of lines
  -h, --help             this text

Your orders (need the API key and secret):
  create-order SYMBOL BUY|SELL LIMIT|MARKET [--price P] [--qty Q] [--quote-qty A]
               [--tif ${TIME_IN_FORCE.options.join("|")}] [--post-only] [--stp MODE] [--cid ID]
                         MODE: ${STP.options.join(", ")}
  cancel ORDER_ID        or: cancel --symbol SYMBOL --cid ID
  amend ORDER_ID [--qty Q] [--price P]
  order ORDER_ID
  orders [--symbol SYMBOL] [--status STATUS] [--limit N]
                         STATUS: ${ORDER_STATUS.options.join(", ")}
  trades [--symbol SYMBOL] [--limit N]
  balances

Market data (public):
  depth SYMBOL [--limit N]
  ticker SYMBOL
  info                   assets and symbols with their filters and fees
  public-trades SYMBOL [--limit N]

Admin (need the admin token):
  admin create-user
  admin create-key USER_ID
  admin deposit USER_ID ASSET AMOUNT
  admin withdraw USER_ID ASSET AMOUNT
  admin totals

Streams:
  watch TOPIC [TOPIC...] [--count N]
                         one line per pushed message until Ctrl-C, or until N messages;
                         topics: trades.SYMBOL, depth.SYMBOL, kline.1m.SYMBOL,
                         ticker.SYMBOL, and (logging in with the API key) orders,
                         user_trades, balances

Exit codes: 0 done, 1 the server refused or cannot be reached, 2 bad usage.
`;

const USAGE_HINT = 'Run "deno task client --help" for the commands and options.';

/** Bad usage: exit code 2. */
class UsageError extends Error {}

/**
 * Runs one client command. `args` are the words after `client`; `env` gives the
 * defaults of the global options. Returns the exit code; throws only on a bug.
 */
export async function runClientCli(
  args: string[],
  env: Record<string, string | undefined>,
  out: CliOutput = console,
): Promise<number> {
  let line: ParsedArgs;
  try {
    line = parseArgs(args);
  } catch (e) {
    return usageFailed(e, out);
  }
  const [name, ...rest] = line.words;
  if (line.switches.has("help")) {
    out.log(CLIENT_USAGE);
    return 0;
  }
  if (name === undefined) {
    out.log(CLIENT_USAGE);
    return 2;
  }
  try {
    const key = name === "admin" && rest.length > 0 ? `admin ${rest[0]}` : name;
    const command = COMMANDS[key];
    if (command === undefined) {
      throw new UsageError(
        name !== "admin"
          ? `unknown command ${JSON.stringify(name)}`
          : rest.length === 0
          ? "admin needs a command: create-user, create-key, deposit, withdraw or totals"
          : `unknown admin command ${JSON.stringify(rest[0])}`,
      );
    }
    const words = name === "admin" ? rest.slice(1) : rest;
    for (const flag of [...line.values.keys(), ...line.switches]) {
      if (!GLOBAL_OPTIONS.has(flag) && !command.options.includes(flag)) {
        throw new UsageError(`${key} takes no option --${flag}`);
      }
    }
    const [min, max] = command.words;
    if (words.length < min || words.length > max) {
      throw new UsageError(
        `${key} takes ${min === max ? min : `${min} to ${max}`} argument(s), received ${
          words.length === 0 ? "none" : words.map((w) => JSON.stringify(w)).join(" ")
        }; usage: ${command.usage}`,
      );
    }
    const ctx = context(key, command.auth, line, env, out);
    return await command.run(ctx, words);
  } catch (e) {
    return usageFailed(e, out);
  }
}

function usageFailed(e: unknown, out: CliOutput): number {
  if (!(e instanceof UsageError)) throw e;
  out.error(`client: ${e.message}`);
  out.error(USAGE_HINT);
  return 2;
}

// ---------------------------------------------------------------- arguments

interface ParsedArgs {
  /** Command words and positional arguments, in order. */
  words: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

const VALUE_OPTIONS = new Set([
  "url",
  "api-key",
  "secret",
  "admin-token",
  "price",
  "qty",
  "quote-qty",
  "tif",
  "stp",
  "cid",
  "symbol",
  "status",
  "limit",
  "count",
]);
const SWITCH_OPTIONS = new Set(["json", "post-only", "help"]);
const GLOBAL_OPTIONS = new Set(["url", "api-key", "secret", "admin-token", "json", "help"]);

/** Splits `args` into words and options (`--name value`, `--name=value`, switches). */
function parseArgs(args: string[]): ParsedArgs {
  const parsed: ParsedArgs = { words: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h") {
      parsed.switches.add("help");
      continue;
    }
    if (!a.startsWith("--") || a === "--") {
      parsed.words.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    let value = eq < 0 ? undefined : a.slice(eq + 1);
    if (SWITCH_OPTIONS.has(name)) {
      if (value !== undefined) throw new UsageError(`option --${name} takes no value`);
      parsed.switches.add(name);
    } else if (VALUE_OPTIONS.has(name)) {
      value ??= args[++i];
      if (value === undefined) throw new UsageError(`option --${name} needs a value`);
      if (parsed.values.has(name)) throw new UsageError(`option --${name} given twice`);
      parsed.values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${JSON.stringify(a)}`);
    }
  }
  return parsed;
}

interface Ctx {
  command: string;
  baseUrl: string;
  json: boolean;
  values: Map<string, string>;
  switches: Set<string>;
  out: CliOutput;
  credentials?: ClientCredentials;
  adminToken?: string;
}

function context(
  command: string,
  auth: Auth,
  line: ParsedArgs,
  env: Record<string, string | undefined>,
  out: CliOutput,
): Ctx {
  const url = line.values.get("url") ?? env.EXCHANGE_URL ?? DEFAULT_EXCHANGE_URL;
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = new URL(url);
  } catch {
    // reported below
  }
  if (parsedUrl === undefined || !["http:", "https:"].includes(parsedUrl.protocol)) {
    throw new UsageError(`--url must be an http:// or https:// address, received "${url}"`);
  }
  const ctx: Ctx = {
    command,
    baseUrl: url.replace(/\/+$/, ""),
    json: line.switches.has("json"),
    values: line.values,
    switches: line.switches,
    out,
  };
  const apiKey = line.values.get("api-key") ?? env.EXCHANGE_API_KEY;
  const secret = line.values.get("secret") ?? env.EXCHANGE_SECRET;
  if (apiKey !== undefined && secret !== undefined) ctx.credentials = { apiKey, secret };
  ctx.adminToken = line.values.get("admin-token") ?? env.ADMIN_TOKEN;
  if (auth === "user" && ctx.credentials === undefined) {
    throw new UsageError(
      `${command} needs an API key and its secret: --api-key and --secret, or ` +
        "EXCHANGE_API_KEY and EXCHANGE_SECRET",
    );
  }
  if (auth === "admin" && ctx.adminToken === undefined) {
    throw new UsageError(`${command} needs the admin token: --admin-token or ADMIN_TOKEN`);
  }
  return ctx;
}

const INTEGER = /^[1-9][0-9]{0,14}$/;
const DECIMAL = /^[0-9]{1,30}(\.[0-9]{1,30})?$/;

function positiveInt(text: string, what: string): number {
  if (!INTEGER.test(text)) {
    throw new UsageError(`${what} must be a positive integer, received "${text}"`);
  }
  return Number(text);
}

function decimal(text: string, what: string): string {
  if (!DECIMAL.test(text)) {
    throw new UsageError(`${what} must be a decimal such as 1.5, received "${text}"`);
  }
  return text;
}

function oneOf(text: string, what: string, allowed: readonly string[]): string {
  const upper = text.toUpperCase();
  if (!allowed.includes(upper)) {
    throw new UsageError(`${what} must be one of ${allowed.join(", ")}, received "${text}"`);
  }
  return upper;
}

/** `--name` as a positive integer, if given. */
function intOption(ctx: Ctx, name: string): number | undefined {
  const v = ctx.values.get(name);
  return v === undefined ? undefined : positiveInt(v, `--${name}`);
}

function decimalOption(ctx: Ctx, name: string): string | undefined {
  const v = ctx.values.get(name);
  return v === undefined ? undefined : decimal(v, `--${name}`);
}

/** `?a=1&b=2` of the entries that are set, in their order ("" when none). */
function query(entries: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

// ---------------------------------------------------------------- commands

type Auth = "none" | "user" | "admin";

interface Command {
  usage: string;
  /** Least and most positional arguments. */
  words: [number, number];
  /** Options beyond the global ones. */
  options: string[];
  auth: Auth;
  run(ctx: Ctx, words: string[]): Promise<number>;
}

// deno-lint-ignore no-explicit-any
type Data = any;

const COMMANDS: Record<string, Command> = {
  "create-order": {
    usage: "create-order SYMBOL BUY|SELL LIMIT|MARKET [--price P] [--qty Q] [--quote-qty A] ...",
    words: [3, 3],
    options: ["price", "qty", "quote-qty", "tif", "post-only", "stp", "cid"],
    auth: "user",
    run(ctx, [symbol, sideText, typeText]) {
      const type = oneOf(typeText, "the order type", ["LIMIT", "MARKET"]);
      const body: Record<string, unknown> = {
        symbol,
        side: oneOf(sideText, "the side", ["BUY", "SELL"]),
        type,
      };
      const price = decimalOption(ctx, "price");
      const qty = decimalOption(ctx, "qty");
      const quoteQty = decimalOption(ctx, "quote-qty");
      if (type === "LIMIT" && (price === undefined || qty === undefined)) {
        throw new UsageError("a LIMIT order needs --price and --qty");
      }
      if (type === "MARKET" && price !== undefined) {
        throw new UsageError("a MARKET order takes no --price");
      }
      if (type === "MARKET" && (qty === undefined) === (quoteQty === undefined)) {
        throw new UsageError("a MARKET order needs exactly one of --qty and --quote-qty");
      }
      if (price !== undefined) body.price = price;
      if (qty !== undefined) body.qty = qty;
      if (quoteQty !== undefined) body.quote_qty = quoteQty;
      const tif = ctx.values.get("tif");
      if (tif !== undefined) body.time_in_force = oneOf(tif, "--tif", TIME_IN_FORCE.options);
      if (ctx.switches.has("post-only")) body.post_only = true;
      const stp = ctx.values.get("stp");
      if (stp !== undefined) body.stp = oneOf(stp, "--stp", STP.options);
      const cid = ctx.values.get("cid");
      if (cid !== undefined) body.cid = cid;
      return call(ctx, (c) => c.post("/api/v1/create_order", body), (d: Data) => [
        orderLine(d),
        ...aligned((d.fills as TradeView[]).map(fillCells)),
      ]);
    },
  },
  cancel: {
    usage: "cancel ORDER_ID | cancel --symbol SYMBOL --cid ID",
    words: [0, 1],
    options: ["symbol", "cid"],
    auth: "user",
    run(ctx, [orderId]) {
      const symbol = ctx.values.get("symbol");
      const cid = ctx.values.get("cid");
      let body: Record<string, unknown>;
      if (orderId !== undefined) {
        if (cid !== undefined) throw new UsageError("cancel takes ORDER_ID or --cid, not both");
        body = { order_id: positiveInt(orderId, "ORDER_ID") };
        if (symbol !== undefined) body.symbol = symbol;
      } else {
        if (symbol === undefined || cid === undefined) {
          throw new UsageError("cancel needs ORDER_ID, or --symbol and --cid");
        }
        body = { symbol, cid };
      }
      return call(ctx, (c) => c.post("/api/v1/cancel_order", body), (d) => [orderLine(d)]);
    },
  },
  amend: {
    usage: "amend ORDER_ID [--qty Q] [--price P]",
    words: [1, 1],
    options: ["qty", "price"],
    auth: "user",
    run(ctx, [orderId]) {
      const body: Record<string, unknown> = { order_id: positiveInt(orderId, "ORDER_ID") };
      const qty = decimalOption(ctx, "qty");
      const price = decimalOption(ctx, "price");
      if (qty === undefined && price === undefined) {
        throw new UsageError("amend needs --qty, --price, or both");
      }
      if (qty !== undefined) body.qty = qty;
      if (price !== undefined) body.price = price;
      return call(ctx, (c) => c.post("/api/v1/amend_order", body), (d) => [orderLine(d)]);
    },
  },
  order: {
    usage: "order ORDER_ID",
    words: [1, 1],
    options: [],
    auth: "user",
    run(ctx, [orderId]) {
      const id = positiveInt(orderId, "ORDER_ID");
      return call(ctx, (c) => c.get(`/api/v1/order/${id}`), (d) => [orderLine(d)]);
    },
  },
  orders: {
    usage: "orders [--symbol SYMBOL] [--status STATUS] [--limit N]",
    words: [0, 0],
    options: ["symbol", "status", "limit"],
    auth: "user",
    run(ctx) {
      const status = ctx.values.get("status");
      const q = query({
        symbol: ctx.values.get("symbol"),
        status: status === undefined ? undefined : oneOf(status, "--status", ORDER_STATUS.options),
        limit: intOption(ctx, "limit"),
      });
      return call(
        ctx,
        (c) => c.get(`/api/v1/orders${q}`),
        (d: Data) => listLines(d.orders.map(orderCells), "no orders", d.next_cursor),
      );
    },
  },
  trades: {
    usage: "trades [--symbol SYMBOL] [--limit N]",
    words: [0, 0],
    options: ["symbol", "limit"],
    auth: "user",
    run(ctx) {
      const q = query({ symbol: ctx.values.get("symbol"), limit: intOption(ctx, "limit") });
      return call(
        ctx,
        (c) => c.get(`/api/v1/trades${q}`),
        (d: Data) => listLines(d.trades.map(tradeCells), "no trades", d.next_cursor),
      );
    },
  },
  balances: {
    usage: "balances",
    words: [0, 0],
    options: [],
    auth: "user",
    run(ctx) {
      return call(
        ctx,
        (c) => c.get("/api/v1/balances"),
        (d: Data) => aligned(d.balances.map(balanceCells)),
      );
    },
  },
  depth: {
    usage: "depth SYMBOL [--limit N]",
    words: [1, 1],
    options: ["limit"],
    auth: "none",
    run(ctx, [symbol]) {
      const q = query({ symbol, limit: intOption(ctx, "limit") });
      return call(ctx, (c) => c.get(`/api/v1/depth${q}`), depthLines);
    },
  },
  ticker: {
    usage: "ticker SYMBOL",
    words: [1, 1],
    options: [],
    auth: "none",
    run(ctx, [symbol]) {
      return call(ctx, (c) => c.get(`/api/v1/ticker${query({ symbol })}`), tickerLines);
    },
  },
  info: {
    usage: "info",
    words: [0, 0],
    options: [],
    auth: "none",
    run(ctx) {
      return call(ctx, (c) => c.get("/api/v1/exchange_info"), infoLines);
    },
  },
  "public-trades": {
    usage: "public-trades SYMBOL [--limit N]",
    words: [1, 1],
    options: ["limit"],
    auth: "none",
    run(ctx, [symbol]) {
      const q = query({ symbol, limit: intOption(ctx, "limit") });
      return call(
        ctx,
        (c) => c.get(`/api/v1/public_trades${q}`),
        (d: Data) => listLines(d.trades.map(publicTradeCells), "no trades", null),
      );
    },
  },
  "admin create-user": {
    usage: "admin create-user",
    words: [0, 0],
    options: [],
    auth: "admin",
    run(ctx) {
      return admin(ctx, "POST", "/admin/v1/users", {}, (d) => [`user ${d.user_id}`]);
    },
  },
  "admin create-key": {
    usage: "admin create-key USER_ID",
    words: [1, 1],
    options: [],
    auth: "admin",
    run(ctx, [userId]) {
      const body = { user_id: positiveInt(userId, "USER_ID") };
      return admin(ctx, "POST", "/admin/v1/api_keys", body, (d) => [
        `user ${d.user_id}`,
        `api_key ${d.api_key}`,
        `secret  ${d.secret}   (shown once: keep it)`,
      ]);
    },
  },
  "admin deposit": transferCommand("deposit"),
  "admin withdraw": transferCommand("withdraw"),
  "admin totals": {
    usage: "admin totals",
    words: [0, 0],
    options: [],
    auth: "admin",
    run(ctx) {
      return admin(ctx, "GET", "/admin/v1/totals", undefined, (d) => [
        ...aligned(
          d.assets.map((a: Data) => [
            a.asset,
            "available",
            a.available,
            "frozen",
            a.frozen,
            "fees",
            a.fees,
            "deposited",
            a.deposited,
            "withdrawn",
            a.withdrawn,
            a.balanced ? "balanced" : "NOT BALANCED",
          ]),
        ),
        d.balanced ? "every asset balances" : "NOT BALANCED",
      ]);
    },
  },
  watch: {
    usage: "watch TOPIC [TOPIC...] [--count N]",
    words: [1, 64],
    options: ["count"],
    auth: "none",
    run(ctx, topics) {
      return watch(ctx, topics, intOption(ctx, "count"));
    },
  },
};

function transferCommand(kind: "deposit" | "withdraw"): Command {
  return {
    usage: `admin ${kind} USER_ID ASSET AMOUNT`,
    words: [3, 3],
    options: [],
    auth: "admin",
    run(ctx, [userId, asset, amount]) {
      const body = {
        user_id: positiveInt(userId, "USER_ID"),
        asset,
        amount: decimal(amount, "AMOUNT"),
      };
      return admin(ctx, "POST", `/admin/v1/${kind}`, body, (d) => [
        `user ${d.user_id} ${d.asset} available ${d.available} frozen ${d.frozen}`,
      ]);
    },
  };
}

// ---------------------------------------------------------------- requests

/**
 * Sends one request and prints its answer: `render(data)` lines, or the data as JSON
 * with --json; an error answer as `error <code>: <msg>` on stderr. Returns the exit code.
 */
async function call(
  ctx: Ctx,
  send: (client: SignedClient) => Promise<ApiAnswer>,
  render: (data: Data) => string[],
): Promise<number> {
  let answer: ApiAnswer;
  try {
    answer = await send(new SignedClient(ctx.baseUrl, ctx.credentials));
  } catch (e) {
    // fetch rejects with a TypeError when it cannot connect or the connection breaks.
    if (!(e instanceof TypeError)) throw e;
    ctx.out.error(`client: cannot reach ${ctx.baseUrl}: ${e.message}`);
    return 1;
  }
  if (answer.code !== 0) {
    ctx.out.error(`error ${answer.code}: ${answer.msg}`);
    return 1;
  }
  if (ctx.json) ctx.out.log(JSON.stringify(answer.data ?? null, null, 2));
  else for (const line of render(answer.data)) ctx.out.log(line);
  return 0;
}

/** An admin request: unsigned, with the bearer token. */
function admin(
  ctx: Ctx,
  method: string,
  path: string,
  body: unknown,
  render: (data: Data) => string[],
): Promise<number> {
  const raw = body === undefined ? "" : JSON.stringify(body);
  const headers = { authorization: `Bearer ${ctx.adminToken}` };
  return call(ctx, (c) => c.request(method, path, raw, headers), render);
}

// ---------------------------------------------------------------- output

/**
 * Pads the columns of `rows` to their widest cell (numbers to the right, words to the
 * left) and joins each row with spaces; a row's last cell is never padded.
 */
function aligned(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r.map((c, i) => {
      if (i === r.length - 1) return c;
      return /^-?[0-9]/.test(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]);
    }).join(" ").trimEnd()
  );
}

function listLines(rows: string[][], none: string, nextCursor: string | null): string[] {
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
function orderCells(o: OrderView): string[] {
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

function orderLine(o: OrderView): string {
  return orderCells(o).join(" ");
}

/** A fill of a new order: `fill 7 0.4 @ 50000.00 TAKER fee 0.0004 BTC`. */
function fillCells(t: TradeView): string[] {
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
function tradeCells(t: TradeView): string[] {
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
function publicTradeCells(t: PublicTradeView): string[] {
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

function balanceCells(b: { asset: string; available: string; frozen: string }): string[] {
  return [b.asset, "available", b.available, "frozen", b.frozen];
}

/** The book as a ladder: asks from the highest down to the best, then bids from the best. */
function depthLines(d: Data): string[] {
  const asks = (d.asks as [string, string][]).map(([p, q]) => ["ask", p, trimZeros(q)]);
  const bids = (d.bids as [string, string][]).map(([p, q]) => ["bid", p, trimZeros(q)]);
  const header = `${d.symbol} depth, update ${d.update_id}`;
  if (asks.length === 0 && bids.length === 0) return [header, "(empty book)"];
  return [header, ...aligned([...asks.reverse(), ...bids])];
}

function tickerLines(d: Data): string[] {
  const v = (x: string | null) => x ?? "-";
  return [
    `${d.symbol} last ${v(d.last)} bid ${v(d.best_bid)} ask ${v(d.best_ask)}`,
    `24h open ${v(d.open)} high ${v(d.high)} low ${v(d.low)} volume ${trimZeros(d.volume)} ` +
    `quote volume ${d.quote_volume} trades ${d.trades}`,
  ];
}

function infoLines(d: Data): string[] {
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
function pushLine(m: Data, json: boolean): string {
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

// ---------------------------------------------------------------- watch

/**
 * Subscribes to `topics` on the WebSocket (logging in first when one is private) and
 * prints every pushed message; returns 0 after `countMax` messages or on Ctrl-C, 1 on an
 * error answer, a missing acknowledgement or a closed connection.
 */
function watch(ctx: Ctx, topics: string[], countMax: number | undefined): Promise<number> {
  const login = topics.some((t) => PRIVATE_TOPICS.has(t));
  if (login && ctx.credentials === undefined) {
    throw new UsageError(
      `watch ${topics.filter((t) => PRIVATE_TOPICS.has(t)).join(" ")} needs an API key and ` +
        "its secret: --api-key and --secret, or EXCHANGE_API_KEY and EXCHANGE_SECRET",
    );
  }
  const wsUrl = `${ctx.baseUrl.replace(/^http/, "ws")}/ws`;
  const { out } = ctx;
  return new Promise<number>((resolve) => {
    const socket = new WebSocket(wsUrl);
    let pushes = 0;
    let exitCode: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onSigint = () => finish(0);
    let listening = false;

    const send = (msg: unknown) => socket.send(JSON.stringify(msg));
    const awaitAck = (what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        out.error(`watch: no ${what} acknowledgement from ${wsUrl} in ${WATCH_ACK_TIMEOUT_MS} ms`);
        finish(1);
      }, WATCH_ACK_TIMEOUT_MS);
    };
    const subscribe = () => {
      send({ op: "subscribe", args: topics });
      awaitAck("subscribe");
    };
    const settle = () => {
      clearTimeout(timer);
      if (listening) Deno.removeSignalListener("SIGINT", onSigint);
      listening = false;
      resolve(exitCode ?? 1);
    };
    /** Ends with `code` once the socket has closed (or failed to close in time). */
    const finish = (code: number) => {
      if (exitCode !== undefined) return;
      exitCode = code;
      clearTimeout(timer);
      if (socket.readyState === WebSocket.CLOSED) return settle();
      timer = setTimeout(settle, WATCH_CLOSE_TIMEOUT_MS);
      socket.close();
    };

    socket.onopen = () => {
      if (!login) return subscribe();
      const timestampMs = Date.now();
      const h = signedHeaders(ctx.credentials!, "GET", "/ws", "", timestampMs);
      send({
        op: "login",
        args: { api_key: h["x-api-key"], timestamp: timestampMs, signature: h["x-signature"] },
      });
      awaitAck("login");
    };
    socket.onmessage = (e) => {
      if (exitCode !== undefined) return;
      let m: Data;
      try {
        m = JSON.parse(String(e.data));
      } catch {
        out.error(
          `watch: the server sent a message that is not JSON: ${String(e.data).slice(0, 200)}`,
        );
        return finish(1);
      }
      if (m.op === "error") {
        out.error(`error ${m.code}: ${m.msg}`);
        return finish(1);
      }
      if (m.op === "login" && m.ok === true) return subscribe();
      if (m.op === "subscribe" && m.ok === true) {
        clearTimeout(timer);
        out.error(
          `watching ${topics.join(" ")} ` +
            (countMax === undefined ? "(Ctrl-C to stop)" : `until ${countMax} message(s)`),
        );
        if (countMax === undefined) {
          Deno.addSignalListener("SIGINT", onSigint);
          listening = true;
        }
        return;
      }
      if (typeof m.topic !== "string") return; // pong and other acknowledgements
      out.log(pushLine(m, ctx.json));
      pushes++;
      if (countMax !== undefined && pushes >= countMax) finish(0);
    };
    socket.onerror = (e) => {
      if (exitCode !== undefined) return;
      const detail = e instanceof ErrorEvent && e.message !== "" ? `: ${e.message}` : "";
      out.error(`watch: connection to ${wsUrl} failed${detail}`);
      finish(1);
    };
    socket.onclose = (e) => {
      if (exitCode === undefined) {
        out.error(
          `watch: the server closed the connection (code ${e.code}${
            e.reason === "" ? "" : `, ${e.reason}`
          })`,
        );
        exitCode = 1;
      }
      settle();
    };
  });
}
