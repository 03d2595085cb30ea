/** Listen keys of the Binance user data streams: one per user, kept alive, closed, lapsing. */

import assert from "node:assert/strict";
import { LISTEN_KEY_LENGTH, LISTEN_KEY_TTL_MS, ListenKeys } from "../../api/binance/listen_keys.ts";

Deno.test("listen keys: one live key per user, extended when asked for again", () => {
  let now = 1_000;
  const keys = new ListenKeys(() => now);
  const a = keys.create(1, "key-a")!;
  assert.match(a, new RegExp(`^[A-Za-z0-9]{${LISTEN_KEY_LENGTH}}$`));
  const b = keys.create(2, "key-b")!;
  assert.notEqual(a, b);
  now += LISTEN_KEY_TTL_MS - 1;
  assert.equal(keys.create(1, "key-a"), a, "the live key comes back");
  now += LISTEN_KEY_TTL_MS - 1;
  assert.equal(keys.userOf(a), 1, "asking again extended it");
  assert.equal(keys.userOf(b), undefined, "the other lapsed");
  assert.equal(keys.size, 1);
});

Deno.test("listen keys: keep-alive and close only by their user; a closed key is gone", () => {
  let now = 0;
  const keys = new ListenKeys(() => now);
  const a = keys.create(1, "key-a")!;
  assert.equal(keys.keepAlive(a, 2), false);
  assert.equal(keys.close(a, 2), false);
  assert.equal(keys.userOf(a), 1);
  now = LISTEN_KEY_TTL_MS - 10;
  assert.equal(keys.keepAlive(a, 1), true);
  now = 2 * LISTEN_KEY_TTL_MS - 20;
  assert.equal(keys.userOf(a), 1, "alive until a full TTL after the keep-alive");
  assert.equal(keys.close(a, 1), true);
  assert.equal(keys.userOf(a), undefined);
  assert.equal(keys.keepAlive(a, 1), false);
  const fresh = keys.create(1, "key-a")!;
  assert.notEqual(fresh, a, "after a close, a new key");
});
