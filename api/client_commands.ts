/**
 * The client's command table: for each command its usage, arguments, options and the
 * credentials it needs, and how it builds its request and prints the answer.
 */

import { ORDER_STATUS, STP, TIME_IN_FORCE } from "./api_schemas.ts";
import {
  type Auth,
  type Ctx,
  type Data,
  decimal,
  decimalOption,
  intOption,
  oneOf,
  positiveInt,
  UsageError,
} from "./client_context.ts";
import {
  aligned,
  balanceCells,
  depthLines,
  fillCells,
  infoLines,
  listLines,
  orderCells,
  orderLine,
  publicTradeCells,
  tickerLines,
  tradeCells,
} from "./client_format.ts";
import { watch } from "./client_watch.ts";
import type { TradeView } from "./order_views.ts";
import { type ApiAnswer, SignedClient } from "./signed_client.ts";

export interface Command {
  usage: string;
  /** Least and most positional arguments. */
  words: [number, number];
  /** Options beyond the global ones. */
  options: string[];
  auth: Auth;
  run(ctx: Ctx, words: string[]): Promise<number>;
}

/** The commands by name; an admin command's name is `admin <word>`. */
export const COMMANDS: Record<string, Command> = {
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

/** `?a=1&b=2` of the entries that are set, in their order ("" when none). */
function query(entries: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}
