/**
 * What every Binance-compatible WebSocket connection does the same way: its place in the
 * push hub (a bounded queue of change-log entries, filtered), sending, slow-reader
 * detection, and bounds on what the client sends (message size, message rate).
 *
 * It never slows matching: the hub queues entries per connection up to a bound and the
 * connection sends them as fast as the socket takes them. A reader whose unsent bytes stay
 * above the high water for `stallMs`, or whose hub queue fills, is cut off through the hub
 * (so that it is counted) and closed with code 4000 and the reason.
 */

import type { ChangeLogEntry } from "../../domain/change_log.ts";
import type { ApiDeps } from "../api_context.ts";
import { WS_CLOSE_CUT_OFF, type WsLimits } from "../ws_connection.ts";
import {
  MAX_REQUEST_BYTES,
  MAX_REQUEST_ID_LENGTH,
  REQUEST_BURST,
  REQUESTS_PER_SECOND,
  WS_CLOSE_TOO_MANY_REQUESTS,
} from "./binance_stream_limits.ts";
import { closeWebSocket, drainedOrCut } from "../ws_socket_io.ts";

/** What a connection plugs into its socket. */
export interface SocketHandlers {
  /** The hub's filter: does the connection want `e`? Must be cheap. */
  wants(e: ChangeLogEntry<unknown>): boolean;
  /** Sends what `entries` (oldest first) make; called again only after the last send drained. */
  deliver(entries: ChangeLogEntry<unknown>[]): void;
  /** A client message that passed the size and rate bounds (text, not yet parsed). */
  request(text: string): void;
  /**
   * A message refused by a bound, for the connection to answer: `tooMany` when the client
   * sent too many (the connection is then closed), else it was too long or not text.
   */
  refuse(reason: string, tooMany: boolean): void;
  /** The connection ended (either side, or cut off): stop timers. */
  ended(): void;
}

let nextSocketNo = 1;

export class BinanceWsSocket {
  readonly id = `binance-ws-${nextSocketNo++}`;
  #closed = false;
  #handlers: SocketHandlers | undefined;
  #tokens = REQUEST_BURST;
  #tokensMs: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: ApiDeps,
    private readonly limits: WsLimits,
  ) {
    this.#tokensMs = performance.now();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Joins the push hub; false (and the socket closed) if the hub refused. */
  open(handlers: SocketHandlers): boolean {
    this.#handlers = handlers;
    const r = this.deps.exchange.subscribe(
      {
        id: this.id,
        deliver: async (entries) => {
          if (this.#closed) return;
          handlers.deliver(entries);
          await this.drained();
        },
        close: (reason) => this.cut(reason),
      },
      { filter: (e) => handlers.wants(e), queueCapacity: this.limits.queueCapacity },
    );
    if (!r.ok) {
      // 1013: try again later (the hub is full or stopping).
      this.closeSocket(1013, r.message);
      this.ended();
      return false;
    }
    return true;
  }

  /** One message from the client: bounds first, then the connection's handler. */
  onMessage(data: unknown): void {
    const h = this.#handlers;
    if (h === undefined || this.#closed) return;
    if (!this.admit()) {
      h.refuse(
        `more than ${REQUESTS_PER_SECOND} messages per second (burst ${REQUEST_BURST}); closing the connection`,
        true,
      );
      this.ended();
      // Closed on the next turn: closed from inside its message handler, Deno's socket
      // drops the connection without the close frame when more messages are arriving.
      setTimeout(() => this.closeSocket(WS_CLOSE_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS"), 0);
      return;
    }
    if (typeof data !== "string") return h.refuse("messages must be JSON text frames", false);
    if (data.length > MAX_REQUEST_BYTES) {
      return h.refuse(
        `message of ${data.length} characters, longer than ${MAX_REQUEST_BYTES}`,
        false,
      );
    }
    h.request(data);
  }

  /** The socket closed (either side): leave the hub. */
  ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deps.exchange.unsubscribe(this.id);
    this.#handlers?.ended();
  }

  send(msg: unknown): void {
    this.sendText(JSON.stringify(msg));
  }

  sendText(text: string): void {
    if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(text);
  }

  /** Waits for the reader (see drainedOrCut); a reader stalled too long is cut off. */
  private drained(): Promise<void> {
    return drainedOrCut(this.socket, this.limits, this.deps.exchange, this.id, () => this.#closed);
  }

  /** The hub (or the stall check) cut this connection off: close with the reason. */
  private cut(reason: string): void {
    if (this.#closed) return;
    this.closeSocket(WS_CLOSE_CUT_OFF, reason);
    this.ended();
  }

  /** Token bucket over client messages. */
  private admit(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      REQUEST_BURST,
      this.#tokens + ((now - this.#tokensMs) / 1_000) * REQUESTS_PER_SECOND,
    );
    this.#tokensMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  private closeSocket(code: number, reason: string): void {
    closeWebSocket(this.socket, code, reason);
  }
}

/** A request id: Binance takes an integer, a short string or null. */
export type RequestId = number | string | null;

const ID_TEXT = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/**
 * The request id as sent (absent is null), or undefined when it is not one Binance
 * accepts: a safe integer, a string of letters, digits, "-" and "_" of at most
 * MAX_REQUEST_ID_LENGTH characters, or null.
 */
export function parseRequestId(id: unknown): RequestId | undefined {
  if (id === undefined || id === null) return null;
  if (typeof id === "number") return Number.isSafeInteger(id) ? id : undefined;
  if (typeof id === "string" && ID_TEXT.test(id)) return id;
  return undefined;
}
