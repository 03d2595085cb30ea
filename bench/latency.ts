/**
 * Per-command latency: one clock read between consecutive commands, stored in a typed
 * array during the run and fed to an HDR histogram afterwards, so that recording costs
 * one `performance.now()` and one store per command and nothing else. Also measures the
 * clock itself (cost of a read, smallest step seen) so the report can say what a
 * sub-microsecond figure is worth.
 */

import * as hdr from "hdr-histogram-js";
import type { Command } from "../domain/commands.ts";
import type { Engine } from "../domain/engine.ts";
import type { EntryPoint } from "./engine_run.ts";

/** Percentiles of a latency sample, in nanoseconds. */
export interface LatencySummary {
  count: number;
  nsP50: number;
  nsP90: number;
  nsP99: number;
  nsP999: number;
  nsP9999: number;
  nsMax: number;
  nsMean: number;
}

/** What the clock can resolve and what one read of it costs. */
export interface ClockInfo {
  /** Mean cost of one `performance.now()` call in a tight loop. */
  nsPerRead: number;
  /** Smallest positive difference between two consecutive reads. */
  nsSmallestStep: number;
  /** The latency loop run with no work: what every recorded latency includes. */
  emptyLoop: LatencySummary;
}

/**
 * Applies `commands` in order through `entryPoint` and returns each one's latency in
 * nanoseconds (wall time from the end of the previous command to the end of this one: the
 * engine call, plus one clock read and one typed-array store).
 */
export function recordLatencies(
  engine: Engine,
  commands: readonly Command[],
  entryPoint: EntryPoint,
): Float64Array {
  const n = commands.length;
  const stamps = new Float64Array(n + 1);
  stamps[0] = performance.now();
  if (entryPoint === "execute") {
    const e = engine as unknown as { execute(cmd: Command): unknown };
    for (let i = 0; i < n; i++) {
      e.execute(commands[i]);
      stamps[i + 1] = performance.now();
    }
  } else {
    for (let i = 0; i < n; i++) {
      engine.apply(commands[i]);
      stamps[i + 1] = performance.now();
    }
  }
  return stampsToNs(stamps);
}

/** Measures the clock, and the latency loop with an empty body. */
export function measureClock(reads = 2_000_000): ClockInfo {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < reads; i++) sink += performance.now();
  const nsPerRead = ((performance.now() - t0) * 1e6) / reads;
  let smallest = Infinity;
  let prev = performance.now();
  for (let i = 0; i < reads; i++) {
    const t = performance.now();
    const d = t - prev;
    if (d > 0 && d < smallest) smallest = d;
    prev = t;
  }
  const stamps = new Float64Array(reads + 1);
  stamps[0] = performance.now();
  for (let i = 0; i < reads; i++) stamps[i + 1] = performance.now();
  if (sink === 0) throw new Error("the clock returned only zeros");
  return {
    nsPerRead,
    nsSmallestStep: smallest * 1e6,
    emptyLoop: summarize(stampsToNs(stamps)),
  };
}

function stampsToNs(stamps: Float64Array): Float64Array {
  const ns = new Float64Array(stamps.length - 1);
  for (let i = 0; i < ns.length; i++) ns[i] = (stamps[i + 1] - stamps[i]) * 1e6;
  return ns;
}

/** Percentiles of `ns` through an HDR histogram (3 significant digits). */
export function summarize(ns: Float64Array): LatencySummary {
  const h = hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  for (let i = 0; i < ns.length; i++) h.recordValue(Math.max(1, Math.round(ns[i])));
  const s: LatencySummary = {
    count: h.totalCount,
    nsP50: h.getValueAtPercentile(50),
    nsP90: h.getValueAtPercentile(90),
    nsP99: h.getValueAtPercentile(99),
    nsP999: h.getValueAtPercentile(99.9),
    nsP9999: h.getValueAtPercentile(99.99),
    nsMax: h.maxValue,
    nsMean: h.mean,
  };
  h.destroy();
  return s;
}
