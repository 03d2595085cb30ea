/**
 * Unit tests for api/rate_limiter.ts: token bucket arithmetic, per-key independence, and
 * the bounded, idle-first then LRU eviction.
 */

import assert from "node:assert/strict";
import { EVICTION_SCAN_MAX_BUCKETS, RateLimiter } from "../../api/rate_limiter.ts";

/** Takes one token at a time until refused; returns how many were granted. */
function drain(limiter: RateLimiter, key: string, nowMs: number): number {
  let granted = 0;
  while (limiter.take(key, nowMs)) {
    granted++;
    assert.ok(granted <= 1_000, "bucket never ran dry");
  }
  return granted;
}

Deno.test("a new key gets its full burst, then is refused", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 3, maxKeys: 10 });
  assert.equal(limiter.take("k", 0), true);
  assert.equal(limiter.take("k", 0), true);
  assert.equal(limiter.take("k", 0), true);
  assert.equal(limiter.take("k", 0), false);
  assert.equal(limiter.take("k", 0), false);
  assert.equal(limiter.size, 1);
});

Deno.test("tokens refill at ratePerSecond, in fractions, and a refusal takes nothing", () => {
  const limiter = new RateLimiter({ ratePerSecond: 2, burst: 1, maxKeys: 10 });
  assert.equal(limiter.take("k", 0), true);
  assert.equal(limiter.take("k", 250), false); // 0.5 token: refused, and nothing taken
  assert.equal(limiter.take("k", 499), false); // 0.998 token
  assert.equal(limiter.take("k", 500), true); // 1 token exactly
  assert.equal(limiter.take("k", 500), false);
  assert.equal(limiter.take("k", 1_000), true);
});

Deno.test("refill stops at burst however long the key was idle", () => {
  const limiter = new RateLimiter({ ratePerSecond: 10, burst: 4, maxKeys: 10 });
  assert.equal(drain(limiter, "k", 0), 4);
  assert.equal(drain(limiter, "k", 3_600_000), 4);
  assert.equal(drain(limiter, "k", 3_600_200), 2); // 200 ms at 10/s
});

Deno.test("a clock that steps back refills nothing", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 10 });
  assert.equal(drain(limiter, "k", 10_000), 2);
  assert.equal(limiter.take("k", 5_000), false);
  assert.equal(limiter.take("k", 10_500), false); // half a token since 10_000, not 5.5
  assert.equal(limiter.take("k", 11_000), true);
});

Deno.test("cost above 1 takes that many tokens or none", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 5, maxKeys: 10 });
  assert.equal(limiter.take("k", 0, 3), true); // 2 left
  assert.equal(limiter.take("k", 0, 3), false); // refused: still 2 left
  assert.equal(limiter.take("k", 0, 2), true); // 0 left
  assert.equal(limiter.take("k", 0, 1), false);
  assert.equal(limiter.take("k", 1_500, 1.5), true); // fractional cost, 1.5 tokens refilled
  assert.equal(limiter.take("other", 0, 6), false); // above burst: never granted
  assert.equal(limiter.take("other", 0, 5), true); // and it took nothing
});

Deno.test("keys have independent buckets", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 10 });
  assert.equal(drain(limiter, "alice", 0), 2);
  assert.equal(limiter.take("bob", 0), true);
  assert.equal(limiter.take("alice", 0), false);
  assert.equal(limiter.take("bob", 0), true);
  assert.equal(limiter.take("bob", 0), false);
  assert.equal(limiter.size, 2);
});

Deno.test("the number of buckets never exceeds maxKeys", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 3, maxKeys: 5 });
  for (let i = 0; i < 200; i++) {
    limiter.take(`key-${i % 37}`, i * 7, 1 + (i % 3));
    assert.ok(limiter.size <= 5, `size ${limiter.size} after call ${i}`);
  }
  assert.equal(limiter.size, 5);
});

Deno.test("a new key evicts a bucket that is full again before the least recently used one", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 3 });
  assert.equal(limiter.take("a", 0, 2), true); // least recently used, drained
  assert.equal(limiter.take("b", 0, 1), true); // 1 left: full again at 1_000
  assert.equal(limiter.take("c", 0, 2), true); // drained
  assert.equal(limiter.take("d", 1_000), true); // evicts "b", not "a"
  assert.equal(limiter.size, 3);
  // "a" and "c" kept their state: 1 token each, so a cost of 2 is refused.
  assert.equal(limiter.take("a", 1_000, 2), false);
  assert.equal(limiter.take("c", 1_000, 2), false);
});

Deno.test("every idle bucket goes in one eviction, and an idle bucket loses nothing", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 4 });
  limiter.take("a", 0);
  limiter.take("b", 0);
  limiter.take("c", 0, 2);
  limiter.take("d", 0);
  // At 1_000, "a", "b" and "d" are full again; "c" holds 1 token.
  assert.equal(limiter.take("e", 1_000), true);
  assert.equal(limiter.size, 2);
  assert.equal(limiter.take("c", 1_000, 2), false); // "c" kept its state
  assert.equal(limiter.take("a", 1_000, 2), true); // a new bucket starts full, as "a" was
});

Deno.test("with no idle bucket, a new key evicts the least recently used one", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 2 });
  assert.equal(limiter.take("a", 0, 2), true);
  assert.equal(limiter.take("b", 0, 2), true);
  assert.equal(limiter.take("a", 10), false); // a refused take is still a use: order b, a
  assert.equal(limiter.take("c", 20), true); // nobody full: evicts "b"
  assert.equal(limiter.size, 2);
  assert.equal(limiter.take("a", 20), false); // "a" kept its drained bucket
  assert.equal(limiter.take("b", 20, 2), true); // "b" was forgotten: starts full again
});

Deno.test("eviction looks for idle buckets only among the oldest-used EVICTION_SCAN_MAX_BUCKETS", () => {
  for (
    const [idleIndex, expectIdleEvicted] of [[EVICTION_SCAN_MAX_BUCKETS - 1, true], [
      EVICTION_SCAN_MAX_BUCKETS,
      false,
    ]] as const
  ) {
    const maxKeys = EVICTION_SCAN_MAX_BUCKETS + 10;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys });
    for (let i = 0; i < maxKeys; i++) {
      // Every bucket drained except one, which keeps 1 token and is full again at 1_000.
      assert.equal(limiter.take(`k${i}`, 0, i === idleIndex ? 1 : 2), true);
    }
    assert.equal(limiter.take("new", 1_000), true);
    assert.equal(limiter.size, maxKeys);
    // A surviving drained "k0" holds 1 token at 1_000; a forgotten one starts full (2).
    const k0Forgotten = limiter.take("k0", 1_000, 2);
    assert.equal(k0Forgotten, !expectIdleEvicted, `idle bucket at index ${idleIndex}`);
  }
});

Deno.test("RateLimiter rejects invalid options, naming the value", () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ratePerSecond: 0, burst: 1, maxKeys: 1 }, /ratePerSecond .* received 0$/],
    [{ ratePerSecond: -1, burst: 1, maxKeys: 1 }, /ratePerSecond .* received -1$/],
    [{ ratePerSecond: NaN, burst: 1, maxKeys: 1 }, /ratePerSecond .* received NaN$/],
    [{ ratePerSecond: 1, burst: Infinity, maxKeys: 1 }, /burst .* received Infinity$/],
    [{ ratePerSecond: 1, burst: "5", maxKeys: 1 }, /burst .* received "5"$/],
    [{ ratePerSecond: 1, burst: 1, maxKeys: 0 }, /maxKeys .* received 0$/],
    [{ ratePerSecond: 1, burst: 1, maxKeys: 2.5 }, /maxKeys .* received 2\.5$/],
    [{ ratePerSecond: 1, burst: 1 }, /maxKeys .* received undefined$/],
  ];
  for (const [opts, message] of bad) {
    assert.throws(
      () => new RateLimiter(opts as { ratePerSecond: number; burst: number; maxKeys: number }),
      (err: unknown) => err instanceof RangeError && message.test(err.message),
      JSON.stringify(opts),
    );
  }
  // Fractional rates and bursts are valid.
  assert.equal(new RateLimiter({ ratePerSecond: 0.5, burst: 1.5, maxKeys: 1 }).take("k", 0), true);
});

Deno.test("take throws on a non-finite clock or a cost that is not positive, naming the value", () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 2 });
  assert.throws(() => limiter.take("k", NaN), /nowMs .* received NaN/);
  assert.throws(() => limiter.take("k", 0, 0), /cost .* received 0/);
  assert.throws(() => limiter.take("k", 0, -1), /cost .* received -1/);
  assert.throws(() => limiter.take("k", 0, NaN), /cost .* received NaN/);
  assert.equal(limiter.size, 0);
});
