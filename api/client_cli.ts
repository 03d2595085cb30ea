/**
 * The terminal client (`deno task client`): places, cancels and reads orders, reads
 * market data, runs the admin commands and watches WebSocket topics of a running
 * exchange. This module parses the command line and builds the command's context; the
 * commands are in client_commands.ts, their output lines in client_format.ts and `watch`
 * in client_watch.ts. Requests are signed by `SignedClient`; the WebSocket login signs
 * `timestamp + "GET" + "/ws"` with the same `signedHeaders`.
 *
 * Exit codes: 0 done, 1 the server refused (`error <code>: <msg>` on stderr) or cannot be
 * reached, 2 bad usage (a one-line error and a hint on stderr).
 */

import { ORDER_STATUS, STP, TIME_IN_FORCE } from "./api_schemas.ts";
import { COMMANDS } from "./client_commands.ts";
import { type Auth, type CliOutput, type Ctx, UsageError } from "./client_context.ts";

export type { CliOutput } from "./client_context.ts";
export { WATCH_ACK_TIMEOUT_MS } from "./client_watch.ts";

export const DEFAULT_EXCHANGE_URL = "http://127.0.0.1:8080";

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

/**
 * Runs one client command. `args` are the words after `client`; `env` gives the
 * defaults of the global options. Returns the exit code; throws only on a bug.
 */
export async function runClientCli(
  args: string[],
  env: Record<string, string | undefined>,
  out: CliOutput = console,
): Promise<number> {
  // `deno task client -- <command>` passes the "--" along: it only ends the task's options.
  if (args[0] === "--") args = args.slice(1);
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
