/**
 * A small client of the native REST API that signs its requests: what the tests, the
 * terminal client and scripts use. It answers the envelope as is (`code`, `msg`, `data`)
 * with the HTTP status beside it, and never throws on an error answer.
 */

import { signaturePayload, signPayload } from "./signature.ts";

export interface ApiAnswer<T = unknown> {
  status: number;
  code: number;
  msg: string;
  data?: T;
}

export interface ClientCredentials {
  apiKey: string;
  secret: string;
}

export class SignedClient {
  private lastTimestampMs = 0;

  constructor(
    readonly baseUrl: string,
    private readonly credentials?: ClientCredentials,
    /** Clock for X-TIMESTAMP (tests skew it). */
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** GET `pathWithQuery` (e.g. "/api/v1/orders?limit=5"), signed if credentials were given. */
  get<T = unknown>(pathWithQuery: string): Promise<ApiAnswer<T>> {
    return this.request<T>("GET", pathWithQuery);
  }

  post<T = unknown>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>("POST", path, JSON.stringify(body));
  }

  delete<T = unknown>(path: string): Promise<ApiAnswer<T>> {
    return this.request<T>("DELETE", path);
  }

  /** Sends one request with `rawBody` exactly as given (signed over those bytes). */
  async request<T = unknown>(
    method: string,
    pathWithQuery: string,
    rawBody = "",
    extraHeaders: Record<string, string> = {},
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (rawBody !== "") headers["content-type"] = "application/json";
    if (this.credentials !== undefined) {
      // Two identical requests in one ms would carry the same signature, which the server
      // refuses as a replay: the timestamp moves on by 1 ms when the clock has not.
      const ts = Math.max(this.now(), this.lastTimestampMs + 1);
      this.lastTimestampMs = ts;
      Object.assign(headers, signedHeaders(this.credentials, method, pathWithQuery, rawBody, ts));
    }
    const res = await fetch(this.baseUrl + pathWithQuery, {
      method,
      headers,
      body: rawBody === "" ? undefined : rawBody,
    });
    const text = await res.text();
    let parsed: { code?: number; msg?: string; data?: T } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { code: -1, msg: `not JSON: ${text.slice(0, 200)}` };
    }
    return {
      status: res.status,
      code: parsed.code ?? -1,
      msg: parsed.msg ?? "",
      data: parsed.data,
    };
  }
}

/** The three auth headers of a signed request. */
export function signedHeaders(
  c: ClientCredentials,
  method: string,
  pathWithQuery: string,
  rawBody: string,
  nowMs: number,
): Record<string, string> {
  const ts = String(nowMs);
  return {
    "x-api-key": c.apiKey,
    "x-timestamp": ts,
    "x-signature": signPayload(c.secret, signaturePayload(ts, method, pathWithQuery, rawBody)),
  };
}
