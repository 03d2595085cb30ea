/**
 * `GET /ws`: upgrades to a WebSocket and hands it to a {@link WsConnection}. A request
 * that is not a WebSocket upgrade gets 400 with the envelope.
 */

import type { Context } from "hono";
import type { ApiDeps, ApiEnv, AuthState } from "./api_context.ts";
import { ApiError } from "./api_errors.ts";
import { WsConnection, type WsLimits } from "./ws_connection.ts";

export function wsHandler(deps: ApiDeps, auth: AuthState, limits: WsLimits) {
  return (c: Context<ApiEnv>): Response => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw ApiError.of("INVALID_PARAMETER", "/ws takes WebSocket upgrades only");
    }
    // Deno's own upgrade (what hono/deno's helper wraps): the socket's bufferedAmount is
    // what tells a slow reader apart.
    const { response, socket } = Deno.upgradeWebSocket(c.req.raw);
    const conn = new WsConnection(socket, deps, auth, limits);
    socket.onopen = () => conn.open();
    socket.onmessage = (e) => conn.onMessage(e.data);
    socket.onclose = () => conn.ended();
    socket.onerror = () => conn.ended();
    return response;
  };
}
