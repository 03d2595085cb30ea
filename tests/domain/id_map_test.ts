/**
 * Unit tests for domain/id_map.ts, checked against a plain Map as the oracle. Randomized
 * tests use a seeded generator and print the seed in every failure message.
 */

import assert from "node:assert/strict";
import { IdMap } from "../../domain/id_map.ts";

const MAX = Number.MAX_SAFE_INTEGER;

/** mulberry32: a small seeded generator, so failures replay from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every key of the oracle is found with its value, and the sizes agree. */
function sameAs(map: IdMap, oracle: Map<number, number>, where: string): void {
  assert.equal(map.size, oracle.size, `${where}: size`);
  for (const [k, v] of oracle) assert.equal(map.get(k), v, `${where}: get(${k})`);
  const entries = [...map.entries()].sort((a, b) => a[0] - b[0]);
  const expected = [...oracle.entries()].sort((a, b) => a[0] - b[0]);
  assert.deepEqual(entries, expected, `${where}: entries`);
}

/** The private home slot of an id, to build probe runs on purpose. */
function homeOf(map: IdMap, id: number): number {
  const slot = (map as unknown as { slot?: (id: number) => number }).slot;
  assert.equal(typeof slot, "function", "IdMap has a private slot(id) hash");
  return (slot as (id: number) => number).call(map, id);
}

Deno.test("set, get, has, delete and size", () => {
  const m = new IdMap();
  assert.equal(m.size, 0);
  assert.equal(m.get(1), -1);
  assert.equal(m.has(1), false);
  m.set(1, 10);
  m.set(2, 20);
  m.set(0, 0); // id 0 and value 0 are ordinary
  assert.equal(m.size, 3);
  assert.equal(m.get(1), 10);
  assert.equal(m.get(2), 20);
  assert.equal(m.get(0), 0);
  assert.equal(m.has(0), true);
  assert.equal(m.get(3), -1);
  m.set(1, 11); // overwrite keeps the size
  assert.equal(m.size, 3);
  assert.equal(m.get(1), 11);
  assert.equal(m.delete(1), true);
  assert.equal(m.delete(1), false);
  assert.equal(m.delete(99), false);
  assert.equal(m.size, 2);
  assert.equal(m.get(1), -1);
  assert.equal(m.has(1), false);
  assert.equal(m.get(2), 20);
});

Deno.test("100k sequential ids survive growth and are all found", () => {
  const m = new IdMap(16);
  const n = 100_000;
  for (let id = 1; id <= n; id++) m.set(id, id % 1_000_003);
  assert.equal(m.size, n);
  for (let id = 1; id <= n; id++) assert.equal(m.get(id), id % 1_000_003, `get(${id})`);
  assert.equal(m.get(0), -1);
  assert.equal(m.get(n + 1), -1);
  // delete every odd id, then the rest must still be there
  for (let id = 1; id <= n; id += 2) assert.equal(m.delete(id), true);
  assert.equal(m.size, n / 2);
  for (let id = 1; id <= n; id++) {
    assert.equal(m.get(id), id % 2 === 1 ? -1 : id % 1_000_003, `after deletes, get(${id})`);
  }
});

Deno.test("ids above 2^32 are distinct keys, up to 2^53 - 1", () => {
  const m = new IdMap(4);
  const ids = [
    0,
    1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 33 + 1, // same low 32 bits as 1
    2 ** 40 + 5,
    2 ** 52,
    MAX - 1,
    MAX,
  ];
  ids.forEach((id, i) => m.set(id, i));
  assert.equal(m.size, ids.length);
  ids.forEach((id, i) => assert.equal(m.get(id), i, `get(${id})`));
  assert.equal(m.get(2 ** 34 + 1), -1); // same low bits as 1 and 2^33+1, never set
  assert.equal(m.delete(2 ** 33 + 1), true);
  assert.equal(m.get(1), 1);
  assert.equal(m.get(2 ** 33 + 1), -1);
});

Deno.test("backward-shift delete keeps every member of a probe run reachable", async (t) => {
  // Capacity 16 (initialCapacity 8): up to 8 entries fit without growing.
  const m = new IdMap(8);
  // Find ids whose home is slot 15 (so their run wraps to 0, 1, ...) and slot 0.
  const home15: number[] = [];
  const home0: number[] = [];
  for (let id = 1; home15.length < 4 || home0.length < 3; id++) {
    const h = homeOf(m, id);
    if (h === 15 && home15.length < 4) home15.push(id);
    if (h === 0 && home0.length < 3) home0.push(id);
  }
  // Insert so the run is: 15: a0, 0: a1, 1: a2, 2: b0, 3: a3, 4: b1, 5: b2
  const [a0, a1, a2, a3] = home15;
  const [b0, b1, b2] = home0;
  const oracle = new Map<number, number>();
  for (const id of [a0, a1, a2, b0, a3, b1, b2]) {
    m.set(id, id * 2);
    oracle.set(id, id * 2);
  }
  sameAs(m, oracle, "cluster built");
  // entries() walks the table in slot order, which shows the run was laid out as planned
  assert.deepEqual([...m.entries()].map(([k]) => k), [a1, a2, b0, a3, b1, b2, a0]);
  for (
    const [label, id] of [
      ["head of a wrapped run", a0],
      ["entry after the wrap", a2],
      [
        "entry whose home is the hole",
        b0,
      ],
      ["last of the run", b2],
      ["the rest", a1],
      ["and more", a3],
      ["last one", b1],
    ] as const
  ) {
    await t.step(`delete ${label}`, () => {
      assert.equal(m.delete(id), true);
      oracle.delete(id);
      sameAs(m, oracle, `after deleting ${id}`);
      assert.equal(m.get(id), -1);
    });
  }
  assert.equal(m.size, 0);
});

Deno.test("small table: random inserts and deletes agree with a Map (wrap-around runs)", () => {
  // 8 live keys in 16 slots makes long and wrapping probe runs common.
  for (const seed of [1, 2, 3, 42, 1234, 99991]) {
    const r = rng(seed);
    const m = new IdMap(8);
    const oracle = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const id = Math.floor(r() * 40);
      if (oracle.size >= 8 || (oracle.size > 0 && r() < 0.5)) {
        const keys = [...oracle.keys()];
        const victim = r() < 0.9 ? keys[Math.floor(r() * keys.length)] : id;
        assert.equal(m.delete(victim), oracle.delete(victim), `seed ${seed} step ${step}`);
      } else {
        m.set(id, step);
        oracle.set(id, step);
      }
      if (step % 97 === 0) sameAs(m, oracle, `seed ${seed} step ${step}`);
    }
    sameAs(m, oracle, `seed ${seed} end`);
  }
});

Deno.test("100k random operations agree with a Map (seeded)", () => {
  const seed = 20261121;
  const r = rng(seed);
  const m = new IdMap(16);
  const oracle = new Map<number, number>();
  let nextId = 1;
  for (let step = 0; step < 100_000; step++) {
    const x = r();
    let id: number;
    if (x < 0.4) id = nextId++; // mostly sequential, like order ids
    else if (x < 0.55) id = Math.floor(r() * 2 ** 53); // anywhere up to 2^53
    else id = 1 + Math.floor(r() * nextId); // an existing or recently deleted one
    const op = r();
    if (op < 0.55) {
      const v = Math.floor(r() * 2 ** 31);
      m.set(id, v);
      oracle.set(id, v);
    } else if (op < 0.85) {
      assert.equal(m.delete(id), oracle.delete(id), `seed ${seed} step ${step}: delete(${id})`);
    } else {
      assert.equal(m.get(id), oracle.get(id) ?? -1, `seed ${seed} step ${step}: get(${id})`);
    }
    if (step % 10_000 === 0) assert.equal(m.size, oracle.size, `seed ${seed} step ${step}`);
  }
  sameAs(m, oracle, `seed ${seed} end`);
});
