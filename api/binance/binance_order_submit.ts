/**
 * Submitting a command from a Binance request: its events, or the Binance error that says
 * why not (an engine rejection as Binance words it, an overloaded or stopped exchange).
 */

import type { Command } from "../../domain/commands.ts";
import type { EngineEvent } from "../../domain/events.ts";
import type { BinanceContext } from "./binance_context.ts";
import {
  BinanceError,
  BinanceErrors,
  type RejectContext,
  rejectToBinance,
} from "./binance_errors.ts";

/**
 * Submits `cmd` and returns its events once it is durable and matched. Throws the
 * BinanceError of a rejection (read as `context`), -1008 (503) when the exchange is at
 * capacity, and -1001 (503) when it is not taking commands.
 */
export async function submitCommand(
  ctx: BinanceContext,
  cmd: Command,
  context: RejectContext,
): Promise<EngineEvent[]> {
  const t0 = performance.now();
  const r = await ctx.deps.exchange.submit(cmd);
  ctx.deps.metrics.command(cmd.type, r, (performance.now() - t0) / 1000);
  if (r.status === "overload") throw BinanceErrors.serviceUnavailable();
  if (r.status === "unavailable") {
    throw new BinanceError(
      503,
      -1001,
      "Internal error; unable to process your request. Please try again.",
    );
  }
  const rejected = r.events.find((e) => e.type === "rejected");
  if (rejected?.type === "rejected") throw rejectToBinance(rejected.reason, context);
  return r.events;
}
