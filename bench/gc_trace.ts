/**
 * V8's `--trace-gc` lines, summed: how many collections a process ran and how long their
 * pauses of the main thread were, by kind (Scavenge, Mark-Compact, ...). The API bench
 * reads them from the exchange server's stdout with `--diagnose`.
 */

/** Pauses over a stretch of time, in milliseconds. */
export interface GcSummary {
  count: number;
  msTotal: number;
  msMax: number;
  /** The kind of the longest pause. */
  maxKind: string;
  byKind: Record<string, { count: number; msTotal: number }>;
}

// "[pid:0x..]  1234 ms: Scavenge 3.3 (4.4) -> 3.2 (5.4) MB, pooled: 0.0 MB, 3.75 / 0.00 ms ..."
const LINE = / ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, .*?([\d.]+) \/ [\d.]+ ms/;

export class GcTrace {
  private summary = empty();

  /** Takes one stdout line; lines that are not GC traces are ignored. */
  add(line: string): void {
    const m = LINE.exec(line);
    if (m === null) return;
    const kind = m[1];
    const ms = Number(m[2]);
    const s = this.summary;
    s.count++;
    s.msTotal += ms;
    if (ms > s.msMax) {
      s.msMax = ms;
      s.maxKind = kind;
    }
    const k = s.byKind[kind] ??= { count: 0, msTotal: 0 };
    k.count++;
    k.msTotal += ms;
  }

  /** The pauses since the last call (or since the start), and starts counting anew. */
  take(): GcSummary {
    const s = this.summary;
    this.summary = empty();
    return s;
  }
}

function empty(): GcSummary {
  return { count: 0, msTotal: 0, msMax: 0, maxKind: "", byKind: {} };
}
