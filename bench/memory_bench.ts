/**
 * Memory figures: the resident set of an engine holding a large resting book, and an RSS
 * sampler for the peak during a timed run. RSS is what the target is about; V8's heap
 * used and external memory (typed-array backing stores, which the heap figure leaves
 * out) are printed beside it because RSS also holds the runtime and free heap pages.
 */

import type { Command } from "../domain/commands.ts";
import { generateStream, restingBookCommands } from "./command_stream.ts";
import { fundedEngine, hotEntryPoint } from "./engine_run.ts";

/** Keeps the highest RSS seen over samples taken during a run. */
export class RssSampler {
  rssBytesPeak = 0;
  samples = 0;
  constructor(readonly everyCommands: number) {}

  sample(): void {
    const rss = Deno.memoryUsage().rss;
    if (rss > this.rssBytesPeak) this.rssBytesPeak = rss;
    this.samples++;
  }
}

/**
 * Runs a full garbage collection if the runtime exposes one (`--v8-flags=--expose-gc`);
 * returns whether it could.
 */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

/** The engine's footprint with `orders` resting orders. */
export interface RestingMemory {
  orders: number;
  users: number;
  levelsPerSide: number;
  /** Open orders after the build (must equal `orders`: none of them cross). */
  resting: number;
  /** Places that did not rest (none should: the orders never cross). */
  rejects: number;
  buildSeconds: number;
  gcForced: boolean;
  rssBytesBefore: number;
  rssBytesAfter: number;
  heapBytesUsedBefore: number;
  heapBytesUsedAfter: number;
  /** Memory outside the JS heap: ArrayBuffer backing stores (typed arrays) and the like. */
  externalBytesBefore: number;
  externalBytesAfter: number;
}

/**
 * Builds a book of `orders` non-crossing limit orders from `users` users (enough of them
 * to stay under the default bound on open orders per user) over `levelsPerSide` price
 * levels per side, generating each command as it is applied so the input does not count,
 * then measures RSS and heap (after a full GC when possible). The engine stays reachable
 * until after the measurement and is dropped on return.
 */
export function measureRestingMemory(
  seed: number,
  orders: number,
  users: number,
  levelsPerSide: number,
): RestingMemory {
  const { funding } = generateStream({ seed, users, places: 0, cancels: 0 });
  collectGarbage();
  const before = Deno.memoryUsage();
  const engine = fundedEngine(funding);
  const entryPoint = hotEntryPoint(engine);
  const executing = engine as unknown as { execute(cmd: Command): unknown };
  const t0 = performance.now();
  for (const c of restingBookCommands(seed, users, orders, levelsPerSide)) {
    if (entryPoint === "execute") executing.execute(c);
    else engine.apply(c);
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const gcForced = collectGarbage();
  const after = Deno.memoryUsage();
  return {
    orders,
    users,
    levelsPerSide,
    resting: engine.openOrderCount,
    rejects: orders - engine.openOrderCount,
    buildSeconds,
    gcForced,
    rssBytesBefore: before.rss,
    rssBytesAfter: after.rss,
    heapBytesUsedBefore: before.heapUsed,
    heapBytesUsedAfter: after.heapUsed,
    externalBytesBefore: before.external,
    externalBytesAfter: after.external,
  };
}
