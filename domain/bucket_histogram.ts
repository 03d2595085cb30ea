/**
 * Counts of observed values in fixed buckets (cumulative at export, as Prometheus
 * histograms are), with their sum and count: cheap enough to record on every request or
 * fsync, bounded in memory whatever the traffic. Values are passed in (no clock here).
 */

export class BucketHistogram {
  /** Count per bucket: values <= bounds[i] and > bounds[i-1]; the last counts the rest. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;
  max = 0;

  /** `bounds`: increasing upper bounds (e.g. seconds). Throws a RangeError otherwise. */
  constructor(readonly bounds: readonly number[]) {
    if (bounds.length === 0 || bounds.some((b, i) => !(b > (bounds[i - 1] ?? -Infinity)))) {
      throw new RangeError(
        `Cannot make a histogram: bounds must increase, received [${bounds.join(", ")}]`,
      );
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
    if (value > this.max) this.max = value;
  }

  /** Cumulative counts per bound, then the total (the `+Inf` bucket). */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (const c of this.counts) out.push(acc += c);
    return out;
  }
}

/** Bounds for latencies in seconds: 100 µs to 10 s. */
export const LATENCY_SECONDS_BOUNDS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];
