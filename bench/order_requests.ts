/**
 * The requests of the API bench's load generator, as raw HTTP/1.1 bytes: signed
 * `create_order` LIMIT orders that trade with each other, or the same signed request to
 * the bare Hono endpoint (`/bare`), so that both carry the same headers and body size.
 * The bare endpoint checks no signature, so its requests carry a placeholder of the same
 * length instead of an HMAC: the generator then spends less per bare request, and the
 * baseline the orders are compared with is as high as the generator can make it.
 *
 * Each connection alternates BUY (by a pair's buyer) and SELL (by its seller) at one price
 * and quantity, so that orders fill one another and the book stays a few orders deep
 * instead of filling up to the per-user limit of open orders. Every request is signed
 * anew with a fresh client order id (`cid`), so no two signatures are alike (the server
 * accepts a signature once).
 */

import { signedHeaders } from "../api/signed_client.ts";

/** A user of the bench with an API key. */
export interface BenchUser {
  userId: number;
  apiKey: string;
  secret: string;
}

/** Two users whose orders match each other. */
export interface OrderPair {
  buyer: BenchUser;
  seller: BenchUser;
}

/** What a generator sends and where. */
export interface RequestPlan {
  /** `order`: POST /api/v1/create_order; `bare`: POST /bare (same body and headers). */
  target: "order" | "bare";
  hostname: string;
  port: number;
  pairs: OrderPair[];
  symbol: string;
  /** Decimal strings, as the API takes them. */
  price: string;
  qty: string;
}

export const ORDER_PATH = "/api/v1/create_order";
export const BARE_PATH = "/bare";

const encoder = new TextEncoder();
/** The placeholder signature of bare requests (the length of a real one). */
const UNSIGNED = "0".repeat(64);

/** Makes the requests of one connection. */
export class RequestMaker {
  private sent = 0;
  private lastTimestampMs = 0;
  private readonly path: string;
  private readonly pair: OrderPair;
  private readonly cidPrefix: string;

  /** `runTag` (base36, a few characters) keeps cids unique across generator processes. */
  constructor(private readonly plan: RequestPlan, connectionNo: number, runTag: string) {
    if (plan.pairs.length === 0) throw new Error("Cannot make requests: the plan has no users");
    this.path = plan.target === "order" ? ORDER_PATH : BARE_PATH;
    this.pair = plan.pairs[connectionNo % plan.pairs.length];
    this.cidPrefix = `${runTag}.${connectionNo.toString(36)}.`;
  }

  /** The next request: BUY and SELL in turn, signed at `nowMs` (or 1 ms after the last). */
  next(nowMs: number): Uint8Array {
    const buy = (this.sent & 1) === 0;
    const user = buy ? this.pair.buyer : this.pair.seller;
    const cid = this.cidPrefix + (this.sent++).toString(36);
    const p = this.plan;
    const body = `{"symbol":"${p.symbol}","side":"${
      buy ? "BUY" : "SELL"
    }","type":"LIMIT","price":"${p.price}","qty":"${p.qty}","cid":"${cid}"}`;
    // The cid already makes each signature unique; the clock only has to stay in the window.
    const ts = Math.max(nowMs, this.lastTimestampMs);
    this.lastTimestampMs = ts;
    const h = p.target === "order"
      ? signedHeaders(user, "POST", this.path, body, ts)
      : { "x-api-key": user.apiKey, "x-timestamp": String(ts), "x-signature": UNSIGNED };
    return encoder.encode(
      `POST ${this.path} HTTP/1.1\r\nhost: ${p.hostname}:${p.port}\r\n` +
        `content-type: application/json\r\ncontent-length: ${encoder.encode(body).length}\r\n` +
        `x-api-key: ${h["x-api-key"]}\r\nx-timestamp: ${h["x-timestamp"]}\r\n` +
        `x-signature: ${h["x-signature"]}\r\n\r\n${body}`,
    );
  }
}

/**
 * Is `body` the success envelope? The server writes `code` first, so a prefix test
 * suffices for the common case; anything else is parsed for its code.
 */
export function envelopeCode(body: string): number {
  if (body.startsWith('{"code":0,')) return 0;
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === "number" ? code : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
