/**
 * Binance's WebSocket endpoints:
 *
 * - `GET /ws/<stream>[/<stream>...]`: raw streams (events unwrapped). A path part that is
 *   not a stream name and has no `@` (ccxt connects to `/ws/0`, `/ws/1`, then sends
 *   SUBSCRIBE) opens the connection without a stream; a live listen key opens that
 *   user's data stream.
 * - `GET /stream?streams=<a>/<b>`: combined streams, each event wrapped
 *   `{"stream": name, "data": event}`.
 * - `GET /ws-api/v3`: the WebSocket API's user data stream methods.
 *
 * A stream named in the URL that does not exist (unknown symbol or stream, a listen key
 * that lapsed) is refused before the upgrade: HTTP 400 with a Binance error body. The
 * native `/ws` is a separate route.
 */

import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { WsLimits } from "../ws_connection.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { BinanceStreamConnection } from "./binance_stream_connection.ts";
import { MAX_STREAMS_PER_CONNECTION } from "./binance_stream_limits.ts";
import { type BinanceStream, looksLikeListenKey, parseStream } from "./binance_stream_names.ts";
import { BinanceWsApiConnection } from "./binance_ws_api.ts";
import { BinanceWsSocket } from "./binance_ws_socket.ts";

/** The Binance WebSocket routes; see the module comment. */
export function binanceStreamRoutes(ctx: BinanceContext, limits: WsLimits): Hono {
  const app = new Hono();

  app.get("/ws/:path{.+}", (c) => {
    const parts = [];
    for (const part of c.req.path.slice("/ws/".length).split("/")) {
      if (part === "") continue;
      try {
        parts.push(decodeURIComponent(part));
      } catch {
        return errorResponse(
          c,
          BinanceErrors.invalidParameter("streams", `has a malformed escape in "${part}".`),
        );
      }
    }
    const streams = urlStreams(ctx, parts, "raw");
    if (streams instanceof BinanceError) return errorResponse(c, streams);
    return upgrade(c, (socket) => {
      const conn = new BinanceStreamConnection(socket, ctx, limits, false);
      return () => conn.start(streams);
    });
  });

  app.get("/stream", (c) => {
    const list = c.req.query("streams");
    const parts = list === undefined ? [] : list.split("/").filter((p) => p !== "");
    const streams = urlStreams(ctx, parts, "combined");
    if (streams instanceof BinanceError) return errorResponse(c, streams);
    return upgrade(c, (socket) => {
      const conn = new BinanceStreamConnection(socket, ctx, limits, true);
      return () => conn.start(streams);
    });
  });

  app.get("/ws-api/v3", (c) =>
    upgrade(c, (socket) => {
      const conn = new BinanceWsApiConnection(socket, ctx);
      return () => conn.start();
    }));

  return app;

  /**
   * Upgrades the request and wires the socket; `connect` builds the connection and
   * returns what to run once the socket is open.
   */
  function upgrade(c: Context, connect: (socket: BinanceWsSocket) => () => void): Response {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(
        c,
        BinanceErrors.invalidParameter("Upgrade", `${c.req.path} takes WebSocket upgrades only.`),
      );
    }
    // Deno's own upgrade: the socket's bufferedAmount is what tells a slow reader apart.
    const { response, socket } = Deno.upgradeWebSocket(c.req.raw);
    const sock = new BinanceWsSocket(socket, ctx.deps, limits);
    const onOpen = connect(sock);
    socket.onopen = onOpen;
    socket.onmessage = (e) => sock.onMessage(e.data);
    socket.onclose = () => sock.ended();
    socket.onerror = () => sock.ended();
    return response;
  }
}

/**
 * The streams a URL names. In a raw URL, parts without `@` that are not live listen keys
 * are ignored (stream ids of clients that subscribe later); in a combined one every part
 * must be a stream. Returns the BinanceError to answer otherwise.
 */
function urlStreams(
  ctx: BinanceContext,
  parts: string[],
  form: "raw" | "combined",
): BinanceStream[] | BinanceError {
  if (parts.length > MAX_STREAMS_PER_CONNECTION) {
    return BinanceErrors.invalidParameter(
      "streams",
      `names ${parts.length} streams; at most ${MAX_STREAMS_PER_CONNECTION} per connection.`,
    );
  }
  const out = new Map<string, BinanceStream>();
  for (const name of parts) {
    const s = parseStream(ctx.markets, ctx.listenKeys, name);
    if (typeof s !== "string") {
      out.set(s.name, s);
      continue;
    }
    if (looksLikeListenKey(name)) return BinanceErrors.invalidListenKey();
    if (form === "raw" && !name.includes("@")) continue;
    return BinanceErrors.invalidParameter("streams", `${s}.`);
  }
  return [...out.values()];
}

function errorResponse(c: Context, err: BinanceError): Response {
  return c.json(err.body(), err.status as ContentfulStatusCode);
}
