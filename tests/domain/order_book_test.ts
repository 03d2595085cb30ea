/** Unit tests for domain/order_book.ts: levels, FIFO, O(1) unlink, depth. */

import assert from "node:assert/strict";
import { InvariantError } from "../../domain/assert.ts";
import { BookSide, type Level, OrderBook } from "../../domain/order_book.ts";
import { NIL, OrderStore } from "../../domain/order_store.ts";
import type { Side } from "../../domain/types.ts";

/** One store per test; orders are slots in it. A small capacity exercises its growth. */
let store = new OrderStore(16);

function order(id: number, side: Side, priceTicks: number, qtyUnits: number): number {
  return store.alloc(
    id,
    100 + id,
    1,
    side,
    priceTicks,
    qtyUnits,
    qtyUnits,
    "NONE",
    null,
    false,
    id,
    -1,
    false,
    "GTC",
    0,
  );
}

function newSide(side: Side): BookSide {
  store = new OrderStore(16);
  return new BookSide(side, store);
}

function newBook(): OrderBook {
  store = new OrderStore(16);
  return new OrderBook(1, store);
}

/** Order ids of a level walking head to tail, checked against the walk tail to head. */
function idsOf(level: Level): number[] {
  const fwd: number[] = [];
  for (let o = level.head; o !== NIL; o = store.nextOf(o)) fwd.push(store.idOf(o));
  const back: number[] = [];
  for (let o = level.tail; o !== NIL; o = store.prevOf(o)) back.push(store.idOf(o));
  assert.deepEqual(back.reverse(), fwd, "prev links mirror next links");
  return fwd;
}

function prices(side: BookSide): number[] {
  return side.levels.map((l) => l.priceTicks);
}

/** Unlinks `slot` from its level and drops the level if it became empty. */
function remove(side: BookSide, slot: number): Level {
  const level = side.levelOf(slot);
  side.unlink(slot, level);
  side.dropIfEmpty(level);
  return level;
}

Deno.test("orders at one price queue FIFO in a single level", () => {
  const bids = newSide("BUY");
  const a = order(1, "BUY", 100, 5);
  const b = order(2, "BUY", 100, 7);
  const c = order(3, "BUY", 100, 2);
  const l1 = bids.add(a);
  assert.equal(bids.add(b), l1);
  assert.equal(bids.add(c), l1);
  assert.equal(bids.levels.length, 1);
  assert.deepEqual(idsOf(l1), [1, 2, 3]);
  assert.equal(l1.totalUnits, 14);
  assert.equal(l1.count, 3);
  assert.equal(l1.head, a);
  assert.equal(l1.tail, c);
  assert.equal(bids.levelOf(b), l1);
  assert.equal(bids.byPrice.get(100), l1);
});

Deno.test("bid levels are sorted worst first so the highest bid is best", () => {
  const bids = newSide("BUY");
  for (const [i, p] of [100, 105, 95, 102, 99, 110, 90].entries()) {
    bids.add(order(i + 1, "BUY", p, 1));
  }
  assert.deepEqual(prices(bids), [90, 95, 99, 100, 102, 105, 110]);
  assert.equal(bids.best()?.priceTicks, 110);
  assert.equal(bids.better(101, 100), true);
  assert.equal(bids.better(100, 100), false);
});

Deno.test("ask levels are sorted worst first so the lowest ask is best", () => {
  const asks = newSide("SELL");
  for (const [i, p] of [100, 105, 95, 102, 99, 110, 90].entries()) {
    asks.add(order(i + 1, "SELL", p, 1));
  }
  assert.deepEqual(prices(asks), [110, 105, 102, 100, 99, 95, 90]);
  assert.equal(asks.best()?.priceTicks, 90);
  assert.equal(asks.better(99, 100), true);
  assert.equal(asks.better(100, 99), false);
});

Deno.test("an empty book has no best level and an empty depth", () => {
  const book = newBook();
  assert.equal(book.bids.best(), undefined);
  assert.equal(book.bestBid(), undefined);
  assert.equal(book.bestAsk(), undefined);
  assert.deepEqual(book.depth(10), { updateId: 0, bids: [], asks: [] });
});

Deno.test("unlink removes an order in O(1) from the middle, head and tail", async (t) => {
  const side = newSide("SELL");
  const os = [1, 2, 3, 4, 5].map((id) => order(id, "SELL", 50, id * 10)); // 10..50 units
  for (const o of os) side.add(o);
  const level = side.levelOf(os[0]);
  assert.equal(level.totalUnits, 150);

  await t.step("middle", () => {
    side.unlink(os[2], level);
    assert.deepEqual(idsOf(level), [1, 2, 4, 5]);
    assert.equal(level.totalUnits, 120);
    assert.equal(level.count, 4);
    assert.equal(store.prevOf(os[2]), NIL);
    assert.equal(store.nextOf(os[2]), NIL);
    assert.equal(store.nextOf(os[1]), os[3]);
    assert.equal(store.prevOf(os[3]), os[1]);
  });
  await t.step("head", () => {
    side.unlink(os[0], level);
    assert.deepEqual(idsOf(level), [2, 4, 5]);
    assert.equal(level.head, os[1]);
    assert.equal(store.prevOf(os[1]), NIL);
    assert.equal(level.totalUnits, 110);
  });
  await t.step("tail", () => {
    side.unlink(os[4], level);
    assert.deepEqual(idsOf(level), [2, 4]);
    assert.equal(level.tail, os[3]);
    assert.equal(store.nextOf(os[3]), NIL);
    assert.equal(level.totalUnits, 60);
    assert.equal(level.count, 2);
  });
  await t.step("a re-added order goes to the tail", () => {
    side.add(os[0]);
    assert.deepEqual(idsOf(level), [2, 4, 1]);
    assert.equal(level.totalUnits, 70);
  });
  await t.step("the last orders leave an empty level in place until dropped", () => {
    for (const o of [os[1], os[3], os[0]]) side.unlink(o, level);
    assert.equal(level.head, NIL);
    assert.equal(level.tail, NIL);
    assert.equal(level.count, 0);
    assert.equal(level.totalUnits, 0);
    assert.deepEqual(prices(side), [50]);
    side.dropIfEmpty(level);
    assert.deepEqual(prices(side), []);
    assert.equal(side.byPrice.size, 0);
  });
});

Deno.test("levelOf an order whose price has no level is an invariant error", () => {
  const side = newSide("BUY");
  const o = order(1, "BUY", 10, 1);
  assert.throws(() => side.levelOf(o), InvariantError);
  side.add(o);
  assert.equal(side.levelOf(o).priceTicks, 10);
  remove(side, o);
  assert.throws(() => side.levelOf(o), /has no level on side BUY/);
});

Deno.test("dropIfEmpty removes only empty levels, wherever they are", async (t) => {
  const side = newSide("BUY");
  const os = new Map<number, number>();
  for (const p of [10, 20, 30, 40, 50]) {
    const o = order(p, "BUY", p, 1);
    os.set(p, o);
    side.add(o);
  }
  await t.step("a level with orders stays", () => {
    side.dropIfEmpty(side.byPrice.get(30) as Level);
    assert.deepEqual(prices(side), [10, 20, 30, 40, 50]);
  });
  await t.step("a middle level", () => {
    remove(side, os.get(30) as number);
    assert.deepEqual(prices(side), [10, 20, 40, 50]);
    assert.equal(side.byPrice.has(30), false);
  });
  await t.step("the best level", () => {
    remove(side, os.get(50) as number);
    assert.deepEqual(prices(side), [10, 20, 40]);
    assert.equal(side.best()?.priceTicks, 40);
  });
  await t.step("the worst level", () => {
    remove(side, os.get(10) as number);
    assert.deepEqual(prices(side), [20, 40]);
    assert.equal(side.byPrice.size, 2);
  });
  await t.step("a level re-created after being dropped sorts into place", () => {
    side.add(order(99, "BUY", 30, 4));
    assert.deepEqual(prices(side), [20, 30, 40]);
  });
});

Deno.test("dropIfEmpty of an empty level with quantity left is an invariant error", () => {
  const side = newSide("SELL");
  const o = order(1, "SELL", 10, 5);
  const level = side.add(o);
  side.unlink(o, level);
  level.totalUnits = 3; // corrupt it
  assert.throws(() => side.dropIfEmpty(level), /empty level 10 has quantity 3/);
});

Deno.test("depth aggregates each level best first and honours the limit", () => {
  const book = newBook();
  let id = 1;
  const add = (side: Side, p: number, q: number) => book.sideOf(side).add(order(id++, side, p, q));
  add("BUY", 100, 5);
  add("BUY", 100, 7);
  add("BUY", 98, 1);
  add("BUY", 99, 2);
  add("BUY", 99, 3);
  add("SELL", 101, 4);
  add("SELL", 103, 6);
  add("SELL", 102, 8);
  add("SELL", 101, 1);
  book.updateId = 42;
  assert.deepEqual(book.depth(10), {
    updateId: 42,
    bids: [[100, 12], [99, 5], [98, 1]],
    asks: [[101, 5], [102, 8], [103, 6]],
  });
  assert.deepEqual(book.depth(2), {
    updateId: 42,
    bids: [[100, 12], [99, 5]],
    asks: [[101, 5], [102, 8]],
  });
  assert.deepEqual(book.depth(0), { updateId: 42, bids: [], asks: [] });
  assert.equal(book.bestBid(), 100);
  assert.equal(book.bestAsk(), 101);
});

Deno.test("isCrossed is true only when the best bid reaches the best ask", () => {
  const book = newBook();
  assert.equal(book.isCrossed(), false);
  book.bids.add(order(1, "BUY", 100, 1));
  assert.equal(book.isCrossed(), false); // one side only
  const ask = order(2, "SELL", 101, 1);
  book.asks.add(ask);
  assert.equal(book.isCrossed(), false);
  remove(book.asks, ask);
  book.asks.add(order(3, "SELL", 100, 1));
  assert.equal(book.isCrossed(), true); // equal prices cross
  book.asks.add(order(4, "SELL", 99, 1));
  assert.equal(book.isCrossed(), true);
});

Deno.test("ordersOf walks the best level first and FIFO within each level", () => {
  const book = newBook();
  const add = (id: number, side: Side, p: number) => book.sideOf(side).add(order(id, side, p, 1));
  add(1, "BUY", 99);
  add(2, "BUY", 100);
  add(3, "BUY", 99);
  add(4, "BUY", 100);
  add(5, "BUY", 98);
  add(6, "SELL", 102);
  add(7, "SELL", 101);
  add(8, "SELL", 102);
  add(9, "SELL", 101);
  assert.deepEqual([...book.ordersOf("BUY")].map((o) => store.idOf(o)), [2, 4, 1, 3, 5]);
  assert.deepEqual([...book.ordersOf("SELL")].map((o) => store.idOf(o)), [7, 9, 6, 8]);
  assert.equal(book.sideOf("BUY"), book.bids);
  assert.equal(book.oppositeOf("BUY"), book.asks);
  assert.equal(book.oppositeOf("SELL"), book.bids);
});

Deno.test("levels stay sorted through many adds and removes (compared to a sorted array)", () => {
  // Seeded LCG so a failure reproduces; the seed is in the message.
  const seed = 12345;
  let s = seed;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  for (const sideName of ["BUY", "SELL"] as const) {
    const side = newSide(sideName);
    const live = new Map<number, number[]>(); // price -> slots in FIFO order
    let id = 1;
    for (let step = 0; step < 5000; step++) {
      const p = 1 + rnd(60);
      const orders = live.get(p) ?? [];
      if (orders.length > 0 && rnd(2) === 0) {
        const o = orders.splice(rnd(orders.length), 1)[0];
        remove(side, o);
        store.free(o); // slots are reused, as in the engine
        if (orders.length === 0) live.delete(p);
      } else {
        const o = order(id++, sideName, p, 1 + rnd(5));
        side.add(o);
        orders.push(o);
        live.set(p, orders);
      }
      const expected = [...live.keys()].sort((a, b) => sideName === "BUY" ? a - b : b - a);
      assert.deepEqual(prices(side), expected, `seed ${seed}, step ${step}`);
      assert.equal(side.byPrice.size, expected.length, `seed ${seed}, step ${step}`);
    }
    for (const [p, orders] of live) {
      const level = side.byPrice.get(p) as Level;
      assert.equal(level.count, orders.length);
      assert.equal(level.totalUnits, orders.reduce((t, o) => t + store.remainingOf(o), 0));
      assert.deepEqual(idsOf(level), orders.map((o) => store.idOf(o))); // FIFO kept
    }
  }
});
