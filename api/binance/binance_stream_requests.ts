/**
 * Requests on Binance's stream connections, parsed and checked before anything changes:
 * `{"method": "SUBSCRIBE" | "UNSUBSCRIBE", "params": [names], "id"}`,
 * `{"method": "LIST_SUBSCRIPTIONS", "id"}`, `{"method": "SET_PROPERTY", "params":
 * ["combined", bool], "id"}` and `{"method": "GET_PROPERTY", "params": ["combined"], "id"}`.
 * Refusals carry Binance's codes: 1 (invalid value type), 2 (invalid request) and
 * 3 (invalid JSON), with a message that says what is wrong.
 */

import type { BinanceMarkets } from "./binance_markets.ts";
import { MAX_REQUEST_ID_LENGTH, MAX_STREAMS_PER_CONNECTION } from "./binance_stream_limits.ts";
import { type BinanceStream, parseStream } from "./binance_stream_names.ts";
import { parseRequestId, type RequestId } from "./binance_ws_socket.ts";
import type { ListenKeys } from "./listen_keys.ts";

export const INVALID_VALUE_TYPE = 1;
export const INVALID_REQUEST = 2;
export const INVALID_JSON = 3;

export type StreamRequest =
  /** `streams`: valid, deduplicated, in the order named. */
  | { method: "SUBSCRIBE"; id: RequestId; streams: BinanceStream[] }
  /** `names`: every one held or a valid stream name (those not held are ignored). */
  | { method: "UNSUBSCRIBE"; id: RequestId; names: string[] }
  | { method: "LIST_SUBSCRIPTIONS"; id: RequestId }
  | { method: "SET_PROPERTY"; id: RequestId; combined: boolean }
  | { method: "GET_PROPERTY"; id: RequestId };

/** A refused request: the answer to send, `{"error": {code, msg}, "id"}`. */
export interface StreamRefusal {
  error: { code: number; msg: string };
  id: RequestId;
}

const METHODS = "SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY";

/** The refusal `{"error": {code, msg: prefix + why}, "id"}`. */
export function refusal(code: number, msg: string, id: RequestId): StreamRefusal {
  const prefix = code === INVALID_JSON
    ? "Invalid JSON: "
    : code === INVALID_VALUE_TYPE
    ? "Invalid value type: "
    : "Invalid request: ";
  return { error: { code, msg: prefix + msg }, id };
}

/**
 * The request `text` holds, or its refusal. `held(name)` says whether the connection
 * holds a stream (UNSUBSCRIBE may name a held stream whose listen key has since lapsed).
 */
export function parseStreamRequest(
  text: string,
  markets: BinanceMarkets,
  listenKeys: ListenKeys,
  held: (name: string) => boolean,
): StreamRequest | StreamRefusal {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    return refusal(INVALID_JSON, (err as Error).message, null);
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    return refusal(
      INVALID_REQUEST,
      'a request is a JSON object {"method": .., "params": [..], "id": ..}',
      null,
    );
  }
  const { method, params, id: rawId } = msg as Record<string, unknown>;
  const id = parseRequestId(rawId);
  if (id === undefined) {
    return refusal(
      INVALID_VALUE_TYPE,
      `id must be an integer, a string of 1 to ${MAX_REQUEST_ID_LENGTH} letters, digits, "-" or "_", or null; received ${
        JSON.stringify(rawId)?.slice(0, 60)
      }`,
      null,
    );
  }
  const names = (what: string): unknown[] | StreamRefusal => {
    if (!Array.isArray(params) || params.length === 0) {
      return refusal(INVALID_REQUEST, `${what} needs params: a non-empty list of stream names`, id);
    }
    if (params.length > MAX_STREAMS_PER_CONNECTION) {
      return refusal(
        INVALID_REQUEST,
        `at most ${MAX_STREAMS_PER_CONNECTION} streams per connection, received ${params.length}`,
        id,
      );
    }
    return params;
  };
  switch (method) {
    case "SUBSCRIBE": {
      const list = names("SUBSCRIBE");
      if (!Array.isArray(list)) return list;
      const streams = new Map<string, BinanceStream>();
      for (const name of list) {
        const s = parseStream(markets, listenKeys, name);
        if (typeof s === "string") return refusal(INVALID_REQUEST, s, id);
        streams.set(s.name, s);
      }
      return { method, id, streams: [...streams.values()] };
    }
    case "UNSUBSCRIBE": {
      const list = names("UNSUBSCRIBE");
      if (!Array.isArray(list)) return list;
      for (const name of list) {
        // Streams not held are ignored, as on Binance, but must still be stream names.
        if (typeof name === "string" && held(name)) continue;
        const s = parseStream(markets, listenKeys, name);
        if (typeof s === "string") return refusal(INVALID_REQUEST, s, id);
      }
      return { method, id, names: list as string[] };
    }
    case "LIST_SUBSCRIPTIONS":
      return { method, id };
    case "SET_PROPERTY":
      if (!Array.isArray(params) || params.length !== 2 || params[0] !== "combined") {
        return refusal(INVALID_REQUEST, 'SET_PROPERTY takes ["combined", true|false]', id);
      }
      if (typeof params[1] !== "boolean") {
        return refusal(
          INVALID_VALUE_TYPE,
          `expected a boolean for "combined", received ${JSON.stringify(params[1])?.slice(0, 40)}`,
          id,
        );
      }
      return { method, id, combined: params[1] };
    case "GET_PROPERTY":
      if (!Array.isArray(params) || params.length !== 1 || params[0] !== "combined") {
        return refusal(INVALID_REQUEST, 'GET_PROPERTY takes ["combined"]', id);
      }
      return { method, id };
    default:
      return refusal(
        INVALID_REQUEST,
        `unknown method ${JSON.stringify(method)?.slice(0, 40)}, expected one of ${METHODS}`,
        id,
      );
  }
}
