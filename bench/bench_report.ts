/**
 * The bench report: labelled lines for people, the same figures as one JSON document for
 * tools (`--json`: lines go to stderr, JSON to stdout), medians, and a PASS/FAIL line per
 * target. Targets are printed, never asserted: benchmarks are not tests.
 */

import type { LatencySummary } from "./latency.ts";

/** One target of the issue and what the run measured against it. */
export interface TargetResult {
  target: string;
  measured: string;
  pass: boolean;
}

export class BenchReport {
  readonly figures: Record<string, unknown> = {};
  readonly targets: TargetResult[] = [];
  constructor(private readonly json: boolean) {}

  line(text = ""): void {
    if (this.json) console.error(text);
    else console.log(text);
  }

  section(title: string): void {
    this.line();
    this.line(`== ${title} ${"=".repeat(Math.max(0, 86 - title.length))}`);
  }

  /** Prints `label: value` aligned. */
  field(label: string, value: string): void {
    this.line(`  ${(label + ":").padEnd(34)} ${value}`);
  }

  /** Keeps `value` under `key` for the JSON document. */
  keep(key: string, value: unknown): void {
    this.figures[key] = value;
  }

  target(target: string, measured: string, pass: boolean): void {
    this.targets.push({ target, measured, pass });
  }

  /** Prints the targets, then the JSON document if asked. */
  finish(): void {
    this.section("Targets");
    for (const t of this.targets) {
      this.line(`  ${t.pass ? "PASS" : "FAIL"}  ${t.target.padEnd(52)} measured ${t.measured}`);
    }
    if (this.json) {
      console.log(JSON.stringify({ ...this.figures, targets: this.targets }, null, 2));
    }
  }
}

/** Median of `xs` (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** 1234567.8 -> "1,234,568". */
export function int(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export function us(ns: number): string {
  return `${(ns / 1000).toFixed(ns < 10_000 ? 2 : 1)} µs`;
}

/** "p50 0.61 µs  p99 2.10 µs ..." */
export function latencyLine(s: LatencySummary): string {
  return `p50 ${us(s.nsP50)}  p90 ${us(s.nsP90)}  p99 ${us(s.nsP99)}  p99.9 ${
    us(s.nsP999)
  }  p99.99 ${us(s.nsP9999)}  max ${us(s.nsMax)}  (n=${int(s.count)})`;
}
