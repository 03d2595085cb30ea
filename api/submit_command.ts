/** Submitting a command from a request: its answer, or the ApiError that says why not. */

import type { Command } from "../domain/commands.ts";
import type { EngineEvent } from "../domain/events.ts";
import type { ApiDeps } from "./api_context.ts";
import { ApiError, rejectError } from "./api_errors.ts";

/**
 * Submits `cmd` and returns its events once it is durable and matched; throws the
 * ApiError of a rejection, an overload or a stopped exchange.
 */
export async function submit(deps: ApiDeps, cmd: Command): Promise<EngineEvent[]> {
  const t0 = performance.now();
  const r = await deps.exchange.submit(cmd);
  deps.metrics.command(cmd.type, r, (performance.now() - t0) / 1000);
  if (r.status === "overload") throw ApiError.of("OVERLOADED", r.message, 1);
  if (r.status === "unavailable") throw ApiError.of("UNAVAILABLE", r.message, 5);
  const rejected = r.events.find((e) => e.type === "rejected");
  if (rejected?.type === "rejected") throw rejectError(rejected.reason, rejected.message);
  return r.events;
}
