/** Engine snapshots: capture, restore into a fresh engine, and carry on identically. */

import assert from "node:assert/strict";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import { Engine } from "../../domain/engine.ts";
import { captureEngineState, restoreEngineState } from "../../domain/engine_state.ts";

function engine(): Engine {
  return new Engine({ assets: BENCH_ASSETS, symbols: [BENCH_SYMBOL], maxOpenOrdersPerUser: 1e6 });
}

Deno.test("a restored engine continues exactly like the one it was captured from", () => {
  const stream = generateStream({
    seed: 7,
    users: 20,
    places: 6_000,
    cancels: 2_000,
    marketShare: 0.05,
  });
  const all = [...stream.funding, ...stream.commands];
  const cut = 5_000;
  const original = engine();
  for (const c of all.slice(0, cut)) original.apply(c);
  // Through JSON, as a snapshot file would carry it.
  const state = JSON.parse(
    JSON.stringify(
      captureEngineState(original.risk, original.matcher),
      (_k, v) => v instanceof Uint8Array ? { bytes: Array.from(v) } : v,
    ),
    (_k, v) => v && typeof v === "object" && Array.isArray(v.bytes) ? new Uint8Array(v.bytes) : v,
  );
  const restored = engine();
  restoreEngineState(restored.risk, restored.matcher, state);
  restored.checkInvariants();
  assert.equal(restored.openOrderCount, original.openOrderCount);
  assert.deepEqual([...restored.restingOrders(0)], [...original.restingOrders(0)]);
  for (const c of all.slice(cut)) {
    assert.deepEqual(restored.apply(c), original.apply(c), `diverged at ${JSON.stringify(c)}`);
  }
  restored.checkInvariants();
  assert.deepEqual(restored.depth(0, 50), original.depth(0, 50));
});

Deno.test("restoring a snapshot of another version is refused", () => {
  const e = engine();
  const st = captureEngineState(e.risk, e.matcher);
  assert.throws(
    () => restoreEngineState(engine().risk, engine().matcher, { ...st, version: 99 }),
    /version 99/,
  );
});
