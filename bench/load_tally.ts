/**
 * What the load generator counts: latency in HDR histograms (microseconds), and the
 * answers of a job, successes and each kind of error, with the first few error texts.
 */

import * as hdr from "hdr-histogram-js";
import { envelopeCode } from "./order_requests.ts";

const MAX_ERROR_SAMPLES = 5;

export type Histogram = ReturnType<typeof hdr.build>;

/** Percentiles in microseconds. */
export interface LatencyUs {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** An HDR histogram of microseconds (1 µs to 10 minutes, 3 significant digits). */
export function histogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** The percentiles of `h`. */
export function summary(h: Histogram): LatencyUs {
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: h.mean,
  };
}

/** Counts of the answers of a job: successes and each kind of error, with samples. */
export class Tally {
  requests = 0;
  httpErrors = 0;
  envelopeErrors = 0;
  transportErrors = 0;
  readonly samples: string[] = [];

  /** Counts one answer; true if it is a success (2xx and envelope code 0). */
  answer(status: number, body: string): boolean {
    this.requests++;
    if (status < 200 || status > 299) {
      this.httpErrors++;
      this.sample(`HTTP ${status}: ${body.slice(0, 200)}`);
      return false;
    }
    if (envelopeCode(body) !== 0) {
      this.envelopeErrors++;
      this.sample(`HTTP ${status}: ${body.slice(0, 200)}`);
      return false;
    }
    return true;
  }

  transport(e: unknown): void {
    this.requests++;
    this.transportErrors++;
    this.sample(`transport: ${e instanceof Error ? e.message : e}`);
  }

  private sample(text: string): void {
    if (this.samples.length < MAX_ERROR_SAMPLES) this.samples.push(text);
  }
}
