/**
 * A log-linear latency histogram: recording is a few integer operations and one array
 * increment, so it can sit inside a loop of millions of commands. Values are integer
 * nanoseconds; each power of two is split into 64 buckets, so a reported percentile is
 * within 1/64 (about 1.6 %) of the true value. The maximum is kept exactly.
 */

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // 64 buckets per power of two
const MAX_NS = 0x7fffffff; // 2.1 s: anything slower is counted as this
const BUCKETS = (32 - SUB_BITS) * SUB + SUB;

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  nsMax = 0;
  nsTotal = 0;

  /** Records one latency of `ns` nanoseconds (fractions are truncated). */
  record(ns: number): void {
    let v = ns > MAX_NS ? MAX_NS : ns < 0 ? 0 : ns | 0;
    if (v > this.nsMax) this.nsMax = v;
    this.nsTotal += v;
    this.count++;
    if (v < SUB) {
      this.counts[v]++;
      return;
    }
    const shift = 31 - Math.clz32(v) - SUB_BITS + 1; // >= 1
    v >>>= shift; // now in [SUB/2 .. SUB) scaled: top SUB_BITS bits
    this.counts[shift * (SUB >> 1) + v]++;
  }

  /**
   * The latency at percentile `p` (0..100) in nanoseconds: the upper edge of the bucket
   * holding that rank, capped at the exact maximum. 0 if nothing was recorded.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketUpperNs(i), this.nsMax);
    }
    return this.nsMax;
  }

  /** Mean latency in nanoseconds (0 if nothing was recorded). */
  mean(): number {
    return this.count === 0 ? 0 : this.nsTotal / this.count;
  }
}

/** Largest value that lands in bucket `i`. */
function bucketUpperNs(i: number): number {
  if (i < SUB) return i;
  const half = SUB >> 1;
  const shift = Math.floor(i / half) - 1;
  const top = (i % half) + half; // top bits of the values in this bucket
  return (top + 1) * 2 ** shift - 1;
}
