/**
 * Tests for actors/push_hub.ts: ordered fan-out, filters, cutting off slow and failing
 * subscribers without disturbing the others, unsubscribe, shutdown and bounds.
 */

import assert from "node:assert/strict";
import type { ChangeEntity, ChangeLogEntry } from "../../domain/change_log.ts";
import {
  DEFAULT_PUSH_QUEUE_CAPACITY,
  MAX_CLOSE_REASON_BYTES,
  PushHub,
  type PushSubscriber,
  truncateUtf8,
} from "../../actors/push_hub.ts";

function entry(seq: number, entity: ChangeEntity = "balance"): ChangeLogEntry {
  return {
    seq,
    ts: 1_700_000_000_000 + seq,
    type: "balance",
    entity,
    id: `1:${seq}`,
    payload: { type: "balance", userId: 1, assetId: 0, availableUnits: seq, frozenUnits: 0 },
  };
}

/** A subscriber that records what it gets; `gate` (if set) holds each delivery open. */
class Probe implements PushSubscriber {
  batches: number[][] = [];
  closed: string[] = [];
  gate: Promise<void> | undefined;
  failOn: ((seqs: number[]) => Error | undefined) | undefined;
  constructor(readonly id: string) {}
  deliver(entries: ChangeLogEntry[]): void | Promise<void> {
    const seqs = entries.map((e) => e.seq);
    this.batches.push(seqs);
    const err = this.failOn?.(seqs);
    if (err) throw err;
    return this.gate;
  }
  close(reason: string): void {
    this.closed.push(reason);
  }
  get seqs(): number[] {
    return this.batches.flat();
  }
}

/** Lets the hub's drain loops run. */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

Deno.test("every subscriber gets every entry, in publication order", async () => {
  const hub = new PushHub();
  const a = new Probe("a");
  const b = new Probe("b");
  assert.deepEqual(hub.subscribe(a), { ok: true });
  assert.deepEqual(hub.subscribe(b), { ok: true });
  for (const seq of range(5)) assert.equal(hub.publish(entry(seq)), 2);
  await tick();
  for (const seq of range(5, 6)) hub.publish(entry(seq));
  await hub.flush();
  assert.deepEqual(a.seqs, range(10));
  assert.deepEqual(b.seqs, range(10));
  assert.deepEqual(a.batches, [range(5), range(5, 6)], "entries of one burst arrive as one batch");
  assert.deepEqual(hub.stats(), {
    subscribers: 2,
    published: 10,
    delivered: 20,
    queued: 0,
    cutOff: 0,
    closeErrors: 0,
  });
});

Deno.test("publish returns before any subscriber code runs", async () => {
  const hub = new PushHub();
  const a = new Probe("a");
  hub.subscribe(a);
  hub.publish(entry(1));
  assert.deepEqual(a.batches, []);
  assert.equal(hub.stats().queued, 1);
  await hub.flush();
  assert.deepEqual(a.seqs, [1]);
});

Deno.test("a filter selects the entries a subscriber receives", async () => {
  const hub = new PushHub();
  const trades = new Probe("trades");
  const all = new Probe("all");
  hub.subscribe(trades, { filter: (e) => e.entity === "trade" });
  hub.subscribe(all);
  const entities: ChangeEntity[] = ["trade", "book", "trade", "order", "trade"];
  entities.forEach((entity, i) => hub.publish(entry(i + 1, entity)));
  await hub.flush();
  assert.deepEqual(trades.seqs, [1, 3, 5]);
  assert.deepEqual(all.seqs, [1, 2, 3, 4, 5]);
});

Deno.test("a slow subscriber is cut off with a reason while a fast one gets everything", async () => {
  const hub = new PushHub();
  const slow = new Probe("slow");
  slow.gate = new Promise(() => {}); // never finishes its first delivery
  const fast = new Probe("fast");
  hub.subscribe(slow, { queueCapacity: 4 });
  hub.subscribe(fast);
  const queuedTo: number[] = [];
  for (const seq of range(10)) {
    queuedTo.push(hub.publish(entry(seq)));
    await tick();
  }
  await hub.flush();
  // Entry 1 is being delivered, 2..4 wait: 4 held. Entry 5 finds the queue full.
  assert.deepEqual(queuedTo, [2, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(slow.closed, ["SLOW_CONSUMER: queue of 4 entries full"]);
  assert.deepEqual(slow.seqs, [1]);
  assert.deepEqual(fast.seqs, range(10));
  const stats = hub.stats();
  assert.deepEqual([stats.subscribers, stats.cutOff, stats.delivered, stats.queued], [1, 1, 10, 0]);
});

Deno.test("a burst larger than the queue cuts the subscriber off at exactly capacity + 1", async () => {
  const hub = new PushHub({ queueCapacity: 3 });
  const a = new Probe("a");
  hub.subscribe(a);
  assert.deepEqual(range(3).map((s) => hub.publish(entry(s))), [1, 1, 1]);
  assert.equal(hub.stats().queued, 3);
  assert.equal(hub.publish(entry(4)), 0);
  assert.deepEqual(a.closed, ["SLOW_CONSUMER: queue of 3 entries full"]);
  assert.equal(hub.stats().queued, 0, "the queue of a cut-off subscriber is dropped");
  await hub.flush();
  assert.deepEqual(a.batches, [], "nothing is delivered after the cut");
});

Deno.test("a subscriber whose deliver throws or rejects is cut off; the others continue", async () => {
  const hub = new PushHub();
  const throws = new Probe("throws");
  throws.failOn = (seqs) => (seqs.includes(3) ? new Error("socket gone") : undefined);
  const rejects: PushSubscriber = {
    id: "rejects",
    deliver: () => Promise.reject(new Error("write failed")),
    close(reason) {
      rejectsClosed.push(reason);
    },
  };
  const rejectsClosed: string[] = [];
  const ok = new Probe("ok");
  for (const s of [throws, rejects, ok]) hub.subscribe(s);
  for (const seq of range(6)) {
    hub.publish(entry(seq));
    await tick();
  }
  await hub.flush();
  assert.deepEqual(throws.closed, ["DELIVER_ERROR: socket gone"]);
  assert.deepEqual(throws.seqs, [1, 2, 3]);
  assert.deepEqual(rejectsClosed, ["DELIVER_ERROR: write failed"]);
  assert.deepEqual(ok.seqs, range(6));
  assert.deepEqual([hub.stats().subscribers, hub.stats().cutOff], [1, 2]);
});

Deno.test("a filter that throws cuts only that subscriber off", async () => {
  const hub = new PushHub();
  const bad = new Probe("bad");
  const good = new Probe("good");
  hub.subscribe(bad, {
    filter: (e) => {
      if (e.seq === 2) throw new Error("bad topic");
      return true;
    },
  });
  hub.subscribe(good);
  for (const seq of range(3)) hub.publish(entry(seq));
  await hub.flush();
  assert.deepEqual(bad.closed, ["FILTER_ERROR: bad topic"]);
  assert.deepEqual(bad.seqs, []);
  assert.deepEqual(good.seqs, [1, 2, 3]);
});

Deno.test("unsubscribe stops delivery without calling close", async () => {
  const hub = new PushHub();
  const a = new Probe("a");
  const b = new Probe("b");
  hub.subscribe(a);
  hub.subscribe(b);
  hub.publish(entry(1));
  await hub.flush();
  hub.publish(entry(2));
  assert.equal(hub.unsubscribe("a"), true, "queued entry 2 is dropped with it");
  assert.equal(hub.unsubscribe("a"), false);
  hub.publish(entry(3));
  await hub.flush();
  assert.deepEqual(a.seqs, [1]);
  assert.deepEqual(a.closed, []);
  assert.deepEqual(b.seqs, [1, 2, 3]);
  assert.equal(hub.stats().subscribers, 1);
  assert.deepEqual(hub.subscribe(a), { ok: true }, "the id can be used again");
});

Deno.test("subscriber bounds and bad options are refused explicitly", () => {
  const hub = new PushHub({ maxSubscribers: 2 });
  assert.deepEqual(hub.subscribe(new Probe("a")), { ok: true });
  const dup = hub.subscribe(new Probe("a"));
  assert.equal(dup.ok ? "" : dup.code, "DUPLICATE_SUBSCRIBER");
  assert.deepEqual(hub.subscribe(new Probe("b")), { ok: true });
  const full = hub.subscribe(new Probe("c"));
  assert.equal(full.ok ? "" : full.code, "TOO_MANY_SUBSCRIBERS");
  assert.equal(full.ok ? "" : full.message, "Cannot subscribe: the hub already has 2 subscribers");
  assert.throws(() => hub.subscribe(new Probe("d"), { queueCapacity: 0 }), RangeError);
  assert.throws(() => new PushHub({ queueCapacity: 1.5 }), RangeError);
  assert.throws(() => new PushHub({ maxSubscribers: -1 }), RangeError);
  assert.equal(DEFAULT_PUSH_QUEUE_CAPACITY, 1_024);
});

Deno.test("close shuts every subscriber with a reason and ignores later publishes", async () => {
  const hub = new PushHub();
  const a = new Probe("a");
  const b: PushSubscriber = {
    id: "b",
    deliver() {},
    close() {
      throw new Error("already closed");
    },
  };
  hub.subscribe(a);
  hub.subscribe(b);
  hub.publish(entry(1));
  await hub.flush();
  hub.close();
  assert.deepEqual(a.closed, ["SHUTDOWN: push hub stopped"]);
  assert.equal(hub.publish(entry(2)), 0);
  const late = hub.subscribe(new Probe("late"));
  assert.equal(late.ok ? "" : late.code, "HUB_CLOSED");
  await hub.flush();
  assert.deepEqual(a.seqs, [1]);
  const stats = hub.stats();
  assert.deepEqual([stats.subscribers, stats.published, stats.cutOff, stats.closeErrors], [
    0,
    1,
    0,
    1,
  ]);
});

Deno.test("close reasons fit a WebSocket close frame (123 UTF-8 bytes)", async () => {
  const hub = new PushHub();
  const a = new Probe("a");
  a.failOn = () => new Error("é".repeat(200));
  hub.subscribe(a);
  hub.publish(entry(1));
  await hub.flush();
  assert.equal(a.closed.length, 1);
  const bytes = new TextEncoder().encode(a.closed[0]).length;
  assert.ok(
    bytes <= MAX_CLOSE_REASON_BYTES && bytes >= MAX_CLOSE_REASON_BYTES - 1,
    `${bytes} bytes`,
  );
  assert.ok(a.closed[0].startsWith("DELIVER_ERROR: éé"));
  assert.equal(truncateUtf8("short", 123), "short");
  assert.equal(truncateUtf8("aé", 2), "a");
});
