/**
 * The API bench's report lines about one load run: latency percentiles, the cores each
 * process used, the server's WAL and answer-time counters, GC pauses and event-loop
 * stalls (`--diagnose`), errors (loud), and a CPU profile's summary.
 */

import type { BenchReport } from "./bench_report.ts";
import { int } from "./bench_report.ts";
import type { CpuShares, JobRun } from "./api_rig.ts";
import type { ProfileEntry, ProfileSummary } from "./cpu_profile.ts";
import type { LatencyUs } from "./load_tally.ts";

/** Where detail lines start: under the value of a `report.field`. */
const DETAIL_INDENT = 37;

const cores = (x: number) => x.toFixed(2);

export class RunLines {
  constructor(
    private readonly report: BenchReport,
    /** Other load above this many cores makes a run's figures suspect: say so. */
    private readonly othersWarnCores: number,
  ) {}

  /** Microseconds as "1.23 ms". */
  readonly ms = (us: number): string => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;

  /** An indented line under a field. */
  readonly detail = (text: string): void => this.report.line(`${" ".repeat(DETAIL_INDENT)}${text}`);

  latency(l: LatencyUs): string {
    const ms = this.ms;
    return `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${
      ms(l.max)
    }`;
  }

  cpu(c: CpuShares): string {
    const bench = c.benchOther >= 0.005 ? `, other bench processes ${cores(c.benchOther)}` : "";
    const threads = Object.entries(c.serverThreads).sort((a, b) => b[1] - a[1])
      .map(([name, x]) => `${name === "deno" ? "main" : name.trim()} ${cores(x)}`).join(", ");
    return `cores used: server ${cores(c.server)}, generator ${cores(c.generator)}${bench}, ` +
      `rest of the machine ${cores(c.others)} (of ${c.cores}); server threads: ${threads}`;
  }

  /** The exchange's counters over the run (from /metrics). */
  wal(run: JobRun): string {
    const s = run.server;
    if (s === undefined || Number.isNaN(s.walBatches)) return "server counters unavailable";
    return `WAL ${int(s.walBatches)} fsyncs x ${s.walRecordsPerBatch.toFixed(1)} orders, fsync ${
      s.fsyncMsMean.toFixed(2)
    } ms mean (${(100 * s.fsyncShare).toFixed(0)} % of the time); server answer ${
      s.answerMsMean.toFixed(2)
    } ms mean, HTTP ${s.httpMsMean.toFixed(2)} ms mean; over 5 ms: answers ${
      (100 * s.answerOver5Ms).toFixed(2)
    } %, HTTP ${(100 * s.httpOver5Ms).toFixed(2)} %; fsyncs over 1 ms ${
      (100 * s.fsyncOver1Ms).toFixed(2)
    } %, over 5 ms ${(100 * s.fsyncOver5Ms).toFixed(2)} %`;
  }

  /** With --diagnose: the server's GC pauses and event-loop stalls over the run. */
  diagnose(run: JobRun): void {
    const g = run.gc;
    const l = run.lag;
    if (g === undefined || l === undefined) return;
    const kinds = Object.entries(g.byKind).map(([k, v]) =>
      `${k} ${v.count} x ${(v.msTotal / v.count).toFixed(2)} ms`
    ).join(", ");
    this.detail(
      `server GC: ${g.count} pauses, ${g.msTotal.toFixed(0)} ms in all (${
        (100 * g.msTotal / (1000 * run.cpu.seconds)).toFixed(1)
      } % of the run), longest ${g.msMax.toFixed(1)} ms (${g.maxKind}); ${kinds}`,
    );
    this.detail(
      `server event loop late: p50 ${l.msP50.toFixed(2)} ms, p99 ${l.msP99.toFixed(2)} ms, p99.9 ${
        l.msP999.toFixed(1)
      } ms, max ${l.msMax.toFixed(1)} ms; ${l.over5Ms} stalls > 5 ms (${
        l.msLostOver5.toFixed(0)
      } ms), ${l.over20Ms} > 20 ms`,
    );
  }

  /** Errors of a run, and other load on the machine: a loud line each. Returns the errors. */
  errors(label: string, run: JobRun): number {
    const r = run.result;
    const errors = r.httpErrors + r.envelopeErrors + r.transportErrors + r.unanswered;
    if (errors > 0) {
      this.report.line(
        `  !!! ${label}: ${
          int(errors)
        } ERRORS (HTTP ${r.httpErrors}, envelope ${r.envelopeErrors}, ` +
          `transport ${r.transportErrors}, unanswered ${r.unanswered}) of ${
            int(r.requests)
          } requests; first: ${r.errorSamples.join(" | ")}`,
      );
    }
    if (run.cpu.others > this.othersWarnCores) {
      this.report.line(
        `  !!! ${label}: other processes used ${
          cores(run.cpu.others)
        } cores during the run: figures are low`,
      );
    }
    return errors;
  }

  /** A CPU profile's summary: shares of GC and idle, top functions and files. */
  profile(summary: ProfileSummary): void {
    this.report.field(
      "sampled / GC / idle",
      `${int(summary.sampledMs)} ms / ${(100 * summary.gcShare).toFixed(1)} % / ${
        (100 * summary.idleShare).toFixed(1)
      } %`,
    );
    const list = (title: string, entries: ProfileEntry[]) => {
      this.report.line(`  ${title}:`);
      for (const e of entries) {
        this.report.line(`    ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`);
      }
    };
    list("self time, top functions", summary.topSelf);
    list("self time by file", summary.byFile);
    list("inclusive time (GC excluded), api/ actors/ persistence/", summary.topInclusive);
  }
}
