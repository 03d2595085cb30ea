/**
 * Socket-level helpers shared by the WebSocket endpoints (native `/ws` and Binance's
 * streams): waiting for a slow reader with a deadline, and closing with a reason.
 */

import type { Exchange } from "../actors/exchange.ts";

/** How often a connection waiting for its reader checks the socket's unsent bytes. */
const DRAIN_POLL_MS = 10;

/**
 * Resolves once `socket`'s unsent bytes are at or below `highWaterBytes`. If they stay
 * above it for `stallMs`, cuts connection `id` off through the hub (so the drop is
 * counted; the hub then calls the connection's close) and resolves. Stops waiting when
 * `closed()` turns true.
 */
export async function drainedOrCut(
  socket: WebSocket,
  limits: { highWaterBytes: number; stallMs: number },
  exchange: Exchange,
  id: string,
  closed: () => boolean,
): Promise<void> {
  if (socket.bufferedAmount <= limits.highWaterBytes) return;
  const deadline = performance.now() + limits.stallMs;
  while (!closed() && socket.bufferedAmount > limits.highWaterBytes) {
    if (performance.now() > deadline) {
      exchange.cutOff(
        id,
        `SLOW_CONSUMER: ${socket.bufferedAmount} bytes unread for ${limits.stallMs} ms`,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
}

/** Closes `socket` with `code` and `reason` (cut to fit a close frame); never throws. */
export function closeWebSocket(socket: WebSocket, code: number, reason: string): void {
  try {
    // A close frame's reason is at most 123 bytes.
    socket.close(code, reason.slice(0, 120));
  } catch {
    // already closing
  }
}
