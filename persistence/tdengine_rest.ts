/**
 * A client for TDengine's REST interface (taosAdapter, `POST /rest/sql[/<db>]`): one SQL
 * statement per request, spoken with `fetch`. It handles what the protocol gets wrong for
 * a careless caller:
 *
 *  - errors arrive with HTTP 200 and a non-zero `code` in the body: every answer's `code`
 *    is checked, whatever the HTTP status;
 *  - BIGINT UNSIGNED values reach 2^64 - 1, beyond a JS number's exact range: the body is
 *    parsed with the source text of each number at hand, and an integer outside the safe
 *    range is kept exact as a bigint (a plain `JSON.parse` would round it);
 *  - transient failures (connection refused or reset, a timeout, HTTP 502/503/504, RPC
 *    network errors) are retried with exponential backoff; anything else fails at once.
 *
 * Credentials come from the URL (`http://user:password@host:6041`), defaulting to
 * TDengine's documented `root:taosdata`.
 */

/** A value of a result cell: integers beyond 2^53 - 1 come as bigint, exactly. */
export type TdValue = null | boolean | number | bigint | string;

/** A column of a result: name, TDengine type name ("BIGINT UNSIGNED"), length in bytes. */
export interface TdColumn {
  name: string;
  type: string;
  length: number;
}

/** A successful answer: for a write, one column `affected_rows` with one row. */
export interface TdResult {
  columns: TdColumn[];
  rows: TdValue[][];
}

/** TDengine answered with a non-zero code; `code` is TDengine's error code. */
export class TdengineError extends Error {
  constructor(
    readonly code: number,
    readonly desc: string,
    readonly sqlHead: string,
  ) {
    super(`TDengine error 0x${code.toString(16).padStart(4, "0")}: ${desc} (SQL: ${sqlHead})`);
    this.name = "TdengineError";
  }
}

/** TDengine could not be reached, or answered something that is not its protocol. */
export class TdengineUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TdengineUnavailableError";
  }
}

/** Options of a {@link TdengineRestClient}. */
export interface TdengineRestOptions {
  /** `http(s)://[user:password@]host:port`, the taosAdapter's address. */
  url: string;
  /** Attempts per statement, the first included (default 5). */
  attempts?: number;
  /** Backoff before the second attempt, doubled each time (default 100 ms). */
  backoffMs?: number;
  /** Longest wait for one answer (default 30 s). */
  timeoutMs?: number;
  /** For tests: the fetch to use and how to wait between attempts. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_TDENGINE_ATTEMPTS = 5;
export const DEFAULT_TDENGINE_BACKOFF_MS = 100;
export const DEFAULT_TDENGINE_TIMEOUT_MS = 30_000;
/** TDengine's documented default account, used when the URL names none. */
const DEFAULT_USER = "root";
const DEFAULT_PASSWORD = "taosdata";
/** How much of a statement an error message quotes. */
const SQL_HEAD_CHARS = 120;
/** TSDB_CODE_RPC_NETWORK_UNAVAIL: the adapter could not reach taosd; worth a retry. */
const RETRIED_CODES = new Set([0x000b]);
const RETRIED_HTTP = new Set([502, 503, 504]);

/** The parts of a TDengine URL: the base to post to and the Basic credentials. */
export interface TdengineEndpoint {
  /** `http://host:port`, without credentials or trailing slash. */
  base: string;
  /** The value of the Authorization header. */
  authorization: string;
}

/** Parses `url`; throws a RangeError naming it if it is not an http(s) URL of a host. */
export function parseTdengineUrl(url: string): TdengineEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(
      `Invalid TDengine URL: expected http://user:password@host:6041, received "${url}"`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new RangeError(
      `Invalid TDengine URL: the scheme must be http or https, received "${url}"`,
    );
  }
  if (u.pathname !== "/" && u.pathname !== "" || u.search !== "" || u.hash !== "") {
    throw new RangeError(
      `Invalid TDengine URL: give only scheme, credentials, host and port, received "${u.origin}${u.pathname}${u.search}"`,
    );
  }
  const user = u.username === "" ? DEFAULT_USER : decodeURIComponent(u.username);
  const password = u.username === "" ? DEFAULT_PASSWORD : decodeURIComponent(u.password);
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  const authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  return { base: `${u.protocol}//${u.host}`, authorization };
}

/**
 * Parses a REST answer's body. Returns the result when `code` is 0; throws a
 * TdengineError for a non-zero code and a TdengineUnavailableError for a body that is
 * not TDengine's JSON. Integers outside the safe range become exact bigints.
 */
export function parseTdengineResponse(body: string, sql: string): TdResult {
  let value: unknown;
  try {
    value = JSON.parse(body, exactIntegers);
  } catch (e) {
    throw new TdengineUnavailableError(
      `TDengine answered with a body that is not JSON (${describe(e)}): ${body.slice(0, 200)}`,
    );
  }
  if (typeof value !== "object" || value === null || !("code" in value)) {
    throw new TdengineUnavailableError(
      `TDengine answered without a code: ${body.slice(0, 200)}`,
    );
  }
  const v = value as { code: unknown; desc?: unknown; column_meta?: unknown; data?: unknown };
  const code = Number(v.code);
  if (!Number.isInteger(code)) {
    throw new TdengineUnavailableError(`TDengine answered with code ${String(v.code)}`);
  }
  if (code !== 0) {
    throw new TdengineError(code, String(v.desc ?? "(no description)"), sqlHead(sql));
  }
  const meta = Array.isArray(v.column_meta) ? v.column_meta : [];
  const columns = meta.map((m): TdColumn => {
    const [name, type, length] = m as [unknown, unknown, unknown];
    return { name: String(name), type: String(type), length: Number(length) };
  });
  const data = Array.isArray(v.data) ? v.data : [];
  const rows = data.map((row, i) => {
    if (!Array.isArray(row)) {
      throw new TdengineUnavailableError(`TDengine answered row ${i} that is not an array`);
    }
    return row as TdValue[];
  });
  return { columns, rows };
}

/** JSON.parse reviver: an integer literal beyond 2^53 - 1 is read from its source text. */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  if (source !== undefined && /^-?\d+$/.test(source)) return BigInt(source);
  return value;
}

function sqlHead(sql: string): string {
  const flat = sql.replace(/\s+/g, " ").trim();
  return flat.length <= SQL_HEAD_CHARS ? flat : `${flat.slice(0, SQL_HEAD_CHARS)}...`;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Posts SQL statements to one taosAdapter. */
export class TdengineRestClient {
  readonly endpoint: TdengineEndpoint;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;

  /** Throws a RangeError for a malformed URL or option. */
  constructor(options: TdengineRestOptions) {
    this.endpoint = parseTdengineUrl(options.url);
    this.#attempts = options.attempts ?? DEFAULT_TDENGINE_ATTEMPTS;
    this.#backoffMs = options.backoffMs ?? DEFAULT_TDENGINE_BACKOFF_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TDENGINE_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.#attempts) || this.#attempts < 1) {
      throw new RangeError(
        `TDengine attempts must be a positive integer, received ${this.#attempts}`,
      );
    }
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * Runs one statement, against `database` when given (`/rest/sql/<database>`), retrying
   * transient failures. Returns the result; throws a TdengineError for an error TDengine
   * reports, or a TdengineUnavailableError once the attempts are spent.
   */
  async exec(sql: string, database?: string): Promise<TdResult> {
    const url = `${this.endpoint.base}/rest/sql${database === undefined ? "" : `/${database}`}`;
    let last: unknown;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (attempt > 1) await this.#sleep(this.#backoffMs * 2 ** (attempt - 2));
      try {
        return await this.#post(url, sql);
      } catch (e) {
        if (!isTransient(e)) throw e;
        last = e;
      }
    }
    throw new TdengineUnavailableError(
      `Cannot reach TDengine at ${this.endpoint.base} after ${this.#attempts} attempts: ${
        describe(last)
      }`,
      { cause: last },
    );
  }

  async #post(url: string, sql: string): Promise<TdResult> {
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: "POST",
        headers: { authorization: this.endpoint.authorization, "content-type": "text/plain" },
        body: sql,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new Transient(`no answer from ${url}: ${describe(e)}`, e);
    }
    const body = await res.text().catch((e) => {
      throw new Transient(`the answer from ${url} broke off: ${describe(e)}`, e);
    });
    if (RETRIED_HTTP.has(res.status)) throw new Transient(`HTTP ${res.status} from ${url}`);
    if (res.status === 401) {
      throw new TdengineError(
        codeOf(body) ?? 0x0357,
        `authentication failed at ${this.endpoint.base} (HTTP 401): check the user and password in the URL`,
        sqlHead(sql),
      );
    }
    try {
      return parseTdengineResponse(body, sql);
    } catch (e) {
      if (e instanceof TdengineError && RETRIED_CODES.has(e.code & 0xffff)) {
        throw new Transient(e.message, e);
      }
      if (e instanceof TdengineUnavailableError && res.status !== 200) {
        throw new TdengineUnavailableError(`HTTP ${res.status} from ${url}: ${e.message}`);
      }
      throw e;
    }
  }
}

/** A failure worth another attempt. */
class Transient extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

function isTransient(e: unknown): boolean {
  return e instanceof Transient;
}

function codeOf(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === "number" ? code : undefined;
  } catch {
    return undefined;
  }
}
