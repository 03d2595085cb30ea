/** Unit tests for domain/bucket_histogram.ts. */

import assert from "node:assert/strict";
import { BucketHistogram } from "../../domain/bucket_histogram.ts";

Deno.test("values land in the first bucket whose bound holds them, counted cumulatively", () => {
  const h = new BucketHistogram([1, 5, 10]);
  for (const v of [0, 1, 1.5, 5, 7, 10, 11, 100]) h.observe(v);
  assert.deepEqual(h.cumulative(), [2, 4, 6, 8]);
  assert.equal(h.count, 8);
  assert.equal(h.sum, 135.5);
  assert.equal(h.max, 100);
});

Deno.test("bounds that do not increase are refused", () => {
  assert.throws(() => new BucketHistogram([]), RangeError);
  assert.throws(() => new BucketHistogram([1, 1]), /must increase/);
  assert.throws(() => new BucketHistogram([2, 1]), /must increase/);
});
