/**
 * The exchange's command line.
 *
 *   deno task start [options]             run the exchange: HTTP API on 127.0.0.1:8080,
 *                                         data in ./data (see `start --help`)
 *   deno task demo                        generate a 1.3M-command dataset once, replay it,
 *                                         print its summary
 *   deno task replay --input DIR --output DIR
 *   deno task client <command> [options]  talk to a running exchange (see `client --help`)
 */

import { runClientCli } from "./api/client_cli.ts";
import { startService } from "./api/service.ts";
import { ConfigError, loadServiceConfig, SERVICE_USAGE } from "./api/service_config.ts";
import { DEFAULT_DATASET, generateDataset } from "./bench/gen_dataset.ts";
import { isSqliteStoreWorker, serveSqliteStore } from "./persistence/sqlite_worker.ts";
import { runReplayCli } from "./replay/replay_cli.ts";

const USAGE = `Usage: deno run -A main.ts <command> [options]

Commands:
  start [options]                  run the exchange and its HTTP API (start --help)
  demo [--data-dir DIR]            generate DIR/input (default data/demo) once, replay it
                                   into DIR/output and print the summary
  replay --input DIR --output DIR  replay the seed's CSV files (see replay --help)
  client <command> [options]       talk to a running exchange (see client --help)
`;

/** Runs the demo job: dataset (generated once), replay, summary. Returns the exit code. */
async function demo(args: string[]): Promise<number> {
  let dir = "data/demo";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--data-dir" && args[i + 1] !== undefined) dir = args[++i];
    else {
      console.error(`demo: unknown argument "${args[i]}"\n\n${USAGE}`);
      return 2;
    }
  }
  const input = `${dir}/input`;
  const output = `${dir}/output`;
  if (!(await exists(`${input}/orders.csv`))) {
    const d = DEFAULT_DATASET;
    console.log(
      `demo: generating ${
        d.places + d.cancels
      } commands (${d.places} places, ${d.cancels} cancels, ` +
        `${d.users} users, seed ${d.seed}) into ${input}`,
    );
    await generateDataset(input, d);
  } else {
    console.log(`demo: reusing the dataset in ${input}`);
  }
  const code = await runReplayCli(["--input", input, "--output", output]);
  if (code !== 0) return code;
  console.log(`\n${await Deno.readTextFile(`${output}/summary.txt`)}`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs the exchange service until a signal stops it; returns the exit code. */
async function start(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(SERVICE_USAGE);
    return 0;
  }
  let config;
  try {
    config = await loadServiceConfig(args, Deno.env.toObject());
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`start: ${e.message}\n\n${SERVICE_USAGE}`);
      return 2;
    }
    throw e;
  }
  let service;
  try {
    service = await startService(config, {
      installSignals: true,
      // Bundled into one file there is no separate worker module: the bundle itself is
      // the store's worker (see the bottom of this file).
      storeWorkerUrl: import.meta.url.endsWith("/main.ts") ? undefined : import.meta.url,
    });
  } catch (e) {
    console.error(`start: cannot start the exchange: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
  return await service.finished;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return await start(rest);
    case "demo":
      return await demo(rest);
    case "replay":
      return await runReplayCli(rest);
    case "client":
      return await runClientCli(rest, Deno.env.toObject());
    case undefined:
    case "-h":
    case "--help":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`Unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

if (isSqliteStoreWorker()) serveSqliteStore();
else if (import.meta.main) Deno.exit(await main(Deno.args));
