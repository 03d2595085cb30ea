/**
 * Unit tests for domain/record_arena.ts through its two stores: records keep every
 * field while the memory grows (past several WebAssembly pages, so the views really are
 * replaced), freed slots are reused, and a snapshot of a grown store restores exactly.
 */

import assert from "node:assert/strict";
import { HoldStore } from "../../domain/hold_store.ts";
import { NIL, OrderStore } from "../../domain/order_store.ts";

/** Far more records than the first page holds: the memory grows about ten times. */
const N = 50_000;

function fillOrders(store: OrderStore, n: number): number[] {
  const slots: number[] = [];
  for (let k = 0; k < n; k++) {
    const slot = store.alloc(
      1_000_000 + k,
      k % 97,
      k % 5,
      k % 2 === 0 ? "BUY" : "SELL",
      10_000 + k,
      2 ** 40 + k,
      2 ** 39 + k,
      k % 3 === 0 ? "EXPIRE_MAKER" : "NONE",
      k % 7 === 0 ? `c${k}` : null,
      k % 11 === 0,
      k * 3,
      k + 17,
      false,
      "GTC",
      1_700_000_000_000 + k,
    );
    store.setPrev(slot, k - 1);
    store.setNext(slot, k + 1 < n ? k + 1 : NIL);
    slots.push(slot);
  }
  return slots;
}

function assertOrder(store: OrderStore, slot: number, k: number, n: number): void {
  assert.equal(store.idOf(slot), 1_000_000 + k, `id of record ${k}`);
  assert.equal(store.userOf(slot), k % 97);
  assert.equal(store.symbolOf(slot), k % 5);
  assert.equal(store.side(slot), k % 2 === 0 ? "BUY" : "SELL");
  assert.equal(store.priceOf(slot), 10_000 + k);
  assert.equal(store.qtyOf(slot), 2 ** 40 + k);
  assert.equal(store.remainingOf(slot), 2 ** 39 + k);
  assert.equal(store.stp(slot), k % 3 === 0 ? "EXPIRE_MAKER" : "NONE");
  assert.equal(store.cid[slot], k % 7 === 0 ? `c${k}` : null);
  assert.equal(store.postOnly(slot), k % 11 === 0);
  assert.equal(store.seqOf(slot), k * 3);
  assert.equal(store.riskRefOf(slot), k + 17);
  assert.equal(store.createdOf(slot), 1_700_000_000_000 + k);
  assert.equal(store.prevOf(slot), k - 1, `prev link of record ${k}`);
  assert.equal(store.nextOf(slot), k + 1 < n ? k + 1 : NIL, `next link of record ${k}`);
}

Deno.test("order records keep every field while the store grows", () => {
  const store = new OrderStore(16);
  const slots = fillOrders(store, N);
  assert.deepEqual(slots, Array.from({ length: N }, (_, k) => k), "slots are handed out in order");
  assert.equal(store.size, N);
  for (let k = 0; k < N; k++) assertOrder(store, slots[k], k, N);
});

Deno.test("freed order slots are reused, most recent first, and the rest stay intact", () => {
  const store = new OrderStore(16);
  const slots = fillOrders(store, N);
  for (let k = 0; k < N; k += 2) store.free(slots[k]);
  assert.equal(store.size, N / 2);
  assert.equal(store.inUse(slots[0]), false);
  assert.throws(() => store.free(slots[0]), /freed twice/);
  for (let k = 1; k < N; k += 2) assertOrder(store, slots[k], k, N);
  const again = store.alloc(7, 1, 0, "BUY", 1, 1, 1, "NONE", null, false, 0, 0, false, "GTC", 0);
  assert.equal(again, slots[N - 2], "the most recently freed slot comes back first");
  assert.equal(store.cid[again], null, "a reused slot does not keep the old client order id");
});

Deno.test("a snapshot of a grown order store restores every record, free slot and cid", () => {
  const store = new OrderStore(16);
  const slots = fillOrders(store, N);
  for (let k = 0; k < N; k += 3) store.free(slots[k]);
  const restored = new OrderStore(16);
  restored.importState(store.exportState());
  assert.equal(restored.size, store.size);
  for (let k = 0; k < N; k++) {
    if (k % 3 === 0) assert.equal(restored.inUse(slots[k]), false);
    else assertOrder(restored, slots[k], k, N);
  }
  // The free list came along: both stores hand out the same slot next.
  const a = store.alloc(1, 1, 0, "BUY", 1, 1, 1, "NONE", null, false, 0, 0, false, "GTC", 0);
  const b = restored.alloc(1, 1, 0, "BUY", 1, 1, 1, "NONE", null, false, 0, 0, false, "GTC", 0);
  assert.equal(b, a);
});

Deno.test("hold records keep every field while the store grows", () => {
  const store = new HoldStore(16);
  const slots: number[] = [];
  for (let k = 0; k < N; k++) {
    const s = store.alloc(
      5_000 + k,
      k % 13,
      k % 4,
      k % 2 === 1,
      k % 5 === 0,
      2 ** 45 + k,
      k,
      k + 1,
      null,
    );
    store.setPending(s, k % 9);
    slots.push(s);
  }
  for (let k = 0; k < N; k++) {
    const s = slots[k];
    assert.equal(store.orderIdOf(s), 5_000 + k, `order id of hold ${k}`);
    assert.equal(store.userOf(s), k % 13);
    assert.equal(store.symbolOf(s), k % 4);
    assert.equal(store.isSell(s), k % 2 === 1);
    assert.equal(store.counted(s), k % 5 === 0);
    assert.equal(store.holdOf(s), 2 ** 45 + k);
    assert.equal(store.limitOf(s), k);
    assert.equal(store.qtyOf(s), k + 1);
    assert.equal(store.remainingOf(s), k + 1);
    assert.equal(store.pendingOf(s), k % 9);
  }
});
