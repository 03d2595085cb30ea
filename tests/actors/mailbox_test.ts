/** actors/mailbox.ts: a bounded FIFO that answers OVERLOAD or STOPPED and never grows. */

import assert from "node:assert/strict";
import { ACCEPTED, Mailbox, MAX_MAILBOX_CAPACITY } from "../../actors/mailbox.ts";

Deno.test("a mailbox accepts up to its capacity, then answers OVERLOAD without growing", () => {
  const mailbox = new Mailbox<string>("match", 3);
  assert.equal(mailbox.offer("a"), ACCEPTED);
  assert.equal(mailbox.offer("b"), ACCEPTED);
  assert.equal(mailbox.offer("c"), ACCEPTED);
  const rejected = mailbox.offer("d");
  assert.deepEqual(rejected, {
    ok: false,
    reason: "OVERLOAD",
    message: 'mailbox "match" is full (capacity 3)',
  });
  assert.equal(mailbox.depth, 3);
  assert.deepEqual(mailbox.stats(), {
    depth: 3,
    capacity: 3,
    accepted: 3,
    rejectedOverload: 1,
    rejectedStopped: 0,
  });
  assert.equal(mailbox.take(), "a");
  assert.equal(mailbox.offer("e"), ACCEPTED, "a freed slot is usable again");
  assert.deepEqual([mailbox.take(), mailbox.take(), mailbox.take()], ["b", "c", "e"]);
  assert.throws(() => mailbox.take(), /Cannot take from mailbox "match": it is empty/);
});

Deno.test("a mailbox keeps FIFO order across many wrap-arounds of its ring", () => {
  const mailbox = new Mailbox<number>("ring", 4);
  const taken: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    while (mailbox.offer(next).ok) next++;
    for (let i = 0; i < 1 + (round % 4); i++) taken.push(mailbox.take());
  }
  while (mailbox.depth > 0) taken.push(mailbox.take());
  assert.deepEqual(taken, Array.from({ length: next }, (_, i) => i));
});

Deno.test("a closed mailbox answers STOPPED and still hands out what it holds", () => {
  const mailbox = new Mailbox<string>("kline", 2);
  mailbox.offer("a");
  mailbox.close();
  const rejected = mailbox.offer("b");
  assert.equal(rejected.ok, false);
  assert.equal(!rejected.ok && rejected.reason, "STOPPED");
  assert.match(!rejected.ok ? rejected.message : "", /mailbox "kline" is closed/);
  assert.equal(mailbox.stats().rejectedStopped, 1);
  assert.equal(mailbox.take(), "a");
});

Deno.test("clear empties the mailbox and returns how many messages it removed", () => {
  const mailbox = new Mailbox<string>("push", 4);
  mailbox.offer("a");
  mailbox.offer("b");
  assert.equal(mailbox.clear(), 2);
  assert.equal(mailbox.depth, 0);
});

Deno.test("a capacity out of range is refused, stating the value", () => {
  for (const capacity of [0, -1, 1.5, MAX_MAILBOX_CAPACITY + 1, Number.NaN]) {
    assert.throws(
      () => new Mailbox("match", capacity),
      (error: Error) =>
        error instanceof RangeError &&
        error.message ===
          `Cannot create mailbox "match": capacity must be an integer in 1..${MAX_MAILBOX_CAPACITY}, received ${capacity}`,
    );
  }
});
