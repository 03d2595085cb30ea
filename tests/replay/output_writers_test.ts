/**
 * The small building blocks of the replay's output: the byte writer's integer
 * formatting and the latency histogram's percentiles.
 */

import assert from "node:assert/strict";
import { ByteWriter } from "../../replay/byte_writer.ts";
import { LatencyHistogram } from "../../replay/latency_histogram.ts";

const dec = new TextDecoder();

Deno.test("the byte writer formats integers like String() up to 2^53 - 1", () => {
  const values = [0, 7, 9, 10, 99, 100, 4294967295, 4294967296, 1e15, 9007199254740991];
  for (let v = 1; v < 1e16; v = v * 3 + 1) values.push(v);
  const w = new ByteWriter(8);
  for (const v of values) {
    w.reserve(17);
    w.uint(v);
    w.byte(44);
  }
  assert.equal(dec.decode(w.bytes()), values.map((v) => `${v},`).join(""));
});

Deno.test("the byte writer refuses values it cannot write exactly", () => {
  const w = new ByteWriter();
  for (const v of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
    assert.throws(() => w.uint(v), RangeError, String(v));
  }
});

Deno.test("histogram percentiles are within 1/32 of the exact ones and the max is exact", () => {
  const h = new LatencyHistogram();
  const values: number[] = [];
  for (let i = 1; i <= 100_000; i++) {
    // A skewed sample: mostly sub-microsecond, a tail up to milliseconds.
    const v = i % 1000 === 0 ? i * 37 : 200 + (i * 7919) % 1500;
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((p / 100) * values.length) - 1];
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact * (1 + 1 / 32), `p${p}: ${got} vs exact ${exact}`);
  }
  assert.equal(h.nsMax, values[values.length - 1]);
  assert.equal(h.percentile(100), h.nsMax);
  assert.equal(h.count, 100_000);
});

Deno.test("an empty histogram reports zeros", () => {
  const h = new LatencyHistogram();
  assert.equal(h.percentile(99), 0);
  assert.equal(h.mean(), 0);
});
