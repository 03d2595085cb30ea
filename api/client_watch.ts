/**
 * The client's `watch` command: subscribes to WebSocket topics (logging in with the API
 * key when one is private) and prints one line per pushed message.
 */

import { type Ctx, type Data, UsageError } from "./client_context.ts";
import { pushLine } from "./client_format.ts";
import { signedHeaders } from "./signed_client.ts";
import { PRIVATE_TOPICS } from "./ws_topics.ts";

/** How long `watch` waits for the server to acknowledge its login and subscription. */
export const WATCH_ACK_TIMEOUT_MS = 10_000;
/** How long `watch` waits for the socket to close once it is done. */
const WATCH_CLOSE_TIMEOUT_MS = 2_000;

/**
 * Subscribes to `topics` on the WebSocket (logging in first when one is private) and
 * prints every pushed message; returns 0 after `countMax` messages or on Ctrl-C, 1 on an
 * error answer, a missing acknowledgement or a closed connection.
 */
export function watch(ctx: Ctx, topics: string[], countMax: number | undefined): Promise<number> {
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
