/**
 * End-to-end benchmark of the batch replay: generates the 1.3M-row dataset (1,000,000
 * places, 300,000 cancels, 100 users) once into a cache directory under the system temp
 * dir, then replays it three times and prints each run's wall time, its parse / run /
 * write breakdown and latencies, and the medians.
 *
 * By default each run is a fresh `deno run replay/replay_cli.ts` process, as a user
 * would run it (start-up and a cold JIT included); `--in-process` runs the replay in
 * this process instead (warmer after the first run).
 *
 *   deno run -A bench/replay_bench.ts [--runs 3] [--in-process] [--places N --cancels N
 *     --users N --seed N] [--regenerate]
 */

import { type DatasetOptions, DEFAULT_DATASET, generateDataset } from "./gen_dataset.ts";
import { replayDirectory } from "../replay/replay_job.ts";

/** The target for the default dataset, end to end. */
const TARGET_MS = 3_000;

interface RunFigures {
  wallMs: number;
  parseMs: number;
  runMs: number;
  writeMs: number;
  replayWallMs: number;
  latency: string;
}

interface BenchArgs {
  dataset: DatasetOptions;
  runs: number;
  inProcess: boolean;
  regenerate: boolean;
}

function parseArgs(args: string[]): BenchArgs {
  const dataset = { ...DEFAULT_DATASET };
  let runs = 3;
  let inProcess = false;
  let regenerate = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--in-process") inProcess = true;
    else if (a === "--regenerate") regenerate = true;
    else if (["--runs", "--places", "--cancels", "--users", "--seed"].includes(a)) {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new Error(`${a} needs an integer, received ${args[i]}`);
      }
      if (a === "--runs") runs = Math.max(1, v);
      else dataset[a.slice(2) as keyof DatasetOptions] = v;
    } else {
      throw new Error(`Unknown argument "${a}"`);
    }
  }
  return { dataset, runs, inProcess, regenerate };
}

/** The dataset's directory, generated unless a complete copy is already cached. */
async function cachedDataset(d: DatasetOptions, regenerate: boolean): Promise<string> {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const dir = `${tmp}/exchange_replay_bench/seed${d.seed}_p${d.places}_c${d.cancels}_u${d.users}`;
  const marker = `${dir}/COMPLETE`;
  const cached = await Deno.stat(marker).then(() => true, () => false);
  if (cached && !regenerate) {
    console.log(`dataset: ${dir} (cached)`);
    return dir;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  const info = await generateDataset(dir, d);
  await Deno.writeTextFile(marker, "");
  console.log(
    `dataset: ${dir} (generated ${info.rows} rows in ${(performance.now() - t0).toFixed(0)} ms)`,
  );
  return dir;
}

/** Reads `key: value` lines of summary.txt into numbers. */
function summaryFigures(summary: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of summary.matchAll(/^([a-z_.0-9]+): ([0-9.]+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

async function runOnce(input: string, output: string, inProcess: boolean): Promise<RunFigures> {
  const t0 = performance.now();
  let summary: string;
  if (inProcess) {
    summary = (await replayDirectory(input, output, { progress: false })).summary;
  } else {
    const cli = new URL("../replay/replay_cli.ts", import.meta.url).pathname;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", cli, "--input", input, "--output", output],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (r.code !== 0) {
      throw new Error(`replay exited with ${r.code}: ${new TextDecoder().decode(r.stderr)}`);
    }
    summary = await Deno.readTextFile(`${output}/summary.txt`);
  }
  const wallMs = performance.now() - t0;
  const f = summaryFigures(summary);
  return {
    wallMs,
    parseMs: f.parse_ms,
    runMs: f.run_ms,
    writeMs: f.write_ms,
    replayWallMs: f.wall_ms,
    latency: `p50 ${f.latency_us_p50} µs, p99 ${f.latency_us_p99} µs, ` +
      `p99.9 ${f.latency_us_p99_9} µs, max ${f.latency_us_max} µs`,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const d = args.dataset;
  console.log(
    `replay bench: ${d.places} places + ${d.cancels} cancels, ${d.users} users, seed ${d.seed}; ` +
      `${args.runs} runs ${args.inProcess ? "in process" : "as fresh processes"}`,
  );
  const input = await cachedDataset(d, args.regenerate);
  const output = await Deno.makeTempDir({ prefix: "replay_bench_out_" });
  const runs: RunFigures[] = [];
  try {
    for (let i = 0; i < args.runs; i++) {
      const r = await runOnce(input, output, args.inProcess);
      runs.push(r);
      console.log(
        `run ${i + 1}: wall ${r.wallMs.toFixed(0)} ms (replay ${r.replayWallMs.toFixed(0)} ms: ` +
          `parse ${r.parseMs.toFixed(0)}, run ${r.runMs.toFixed(0)}, write ${
            r.writeMs.toFixed(0)
          }); ` +
          `latency ${r.latency}`,
      );
    }
  } finally {
    await Deno.remove(output, { recursive: true });
  }
  const med = (k: keyof Omit<RunFigures, "latency">) => median(runs.map((r) => r[k]));
  const wall = med("wallMs");
  const commands = d.places + d.cancels;
  console.log(
    `median: wall ${wall.toFixed(0)} ms (replay ${med("replayWallMs").toFixed(0)} ms: ` +
      `parse ${med("parseMs").toFixed(0)}, run ${med("runMs").toFixed(0)}, ` +
      `write ${med("writeMs").toFixed(0)}); ${Math.round(commands / (wall / 1000))} commands/s ` +
      `end to end`,
  );
  if (d.places === DEFAULT_DATASET.places && d.cancels === DEFAULT_DATASET.cancels) {
    console.log(
      `target: <= ${TARGET_MS} ms end to end: ${wall <= TARGET_MS ? "met" : "MISSED"}`,
    );
  }
}
