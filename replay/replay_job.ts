/**
 * One batch replay end to end: read and check the input directory, run it through the
 * engine, write the four outputs. The CLI and the benchmark both call this.
 */

import { readReplayInput } from "./csv_input.ts";
import {
  BALANCES_FINAL_FILE,
  formatBalances,
  formatOrderbook,
  formatSummaryCounts,
  formatSummaryTiming,
  formatTrades,
  ORDERBOOK_FILE,
  type ReplayTimings,
  SUMMARY_FILE,
  TRADES_FILE,
  writeOutputFiles,
} from "./csv_output.ts";
import { ProgressBar } from "./progress_bar.ts";
import { type ReplayCounts, runReplay } from "./replay_run.ts";

export interface ReplayJobOptions {
  /** Draw a progress bar on stderr if it is a terminal (default true). */
  progress?: boolean;
  /**
   * Audit every engine invariant (books, holds, conservation) after the run, before
   * writing; counted in the run time. Throws InvariantError on a violation.
   */
  checkInvariants?: boolean;
}

export interface ReplayReport {
  counts: ReplayCounts;
  trades: number;
  restingOrders: number;
  timings: ReplayTimings;
  /** The whole summary.txt as written. */
  summary: string;
}

/**
 * Replays `inputDir` into `outputDir` (created if needed) and returns the report.
 * Nothing is written unless the whole input parses. Throws a ReplayInputError for a
 * missing or malformed input; other errors are bugs or I/O failures.
 */
export async function replayDirectory(
  inputDir: string,
  outputDir: string,
  opts: ReplayJobOptions = {},
): Promise<ReplayReport> {
  const t0 = performance.now();
  const input = await readReplayInput(inputDir);
  const t1 = performance.now();

  const bar = opts.progress === false ? null : ProgressBar.forStderr("replay");
  let run;
  try {
    run = runReplay(input, bar ? { onProgress: (d, n) => bar.update(d, n) } : {});
  } finally {
    bar?.finish();
  }
  if (opts.checkInvariants) run.engine.checkInvariants();
  const t2 = performance.now();

  await Deno.mkdir(outputDir, { recursive: true });
  const symbolId = input.symbol.id;
  // Each file's write starts as soon as its bytes are ready and overlaps formatting the
  // next one.
  const writes = [
    writeOutputFiles(outputDir, [[TRADES_FILE, formatTrades(run, symbolId)]]),
    writeOutputFiles(outputDir, [[ORDERBOOK_FILE, formatOrderbook(run, symbolId)]]),
    writeOutputFiles(outputDir, [[BALANCES_FINAL_FILE, formatBalances(run, input.assets)]]),
  ];
  await Promise.all(writes);
  const t3 = performance.now();
  const timings: ReplayTimings = {
    parseMs: t1 - t0,
    runMs: t2 - t1,
    writeMs: t3 - t2,
    wallMs: t3 - t0,
  };
  const summary = formatSummaryCounts(input, run) + "\n" + formatSummaryTiming(run, timings);
  await writeOutputFiles(outputDir, [[SUMMARY_FILE, new TextEncoder().encode(summary)]]);
  return {
    counts: run.counts,
    trades: run.trades.length,
    restingOrders: run.engine.openOrderCount,
    timings,
    summary,
  };
}
