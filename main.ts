/**
 * The exchange's command line.
 *
 *   deno task demo                        generate a 1.3M-command dataset once, replay it,
 *                                         print its summary
 *   deno task replay --input DIR --output DIR
 *
 * The server (`deno task start`) arrives with the pipeline and the API.
 */

import { DEFAULT_DATASET, generateDataset } from "./bench/gen_dataset.ts";
import { runReplayCli } from "./replay/replay_cli.ts";

const USAGE = `Usage: deno run -A main.ts <command> [options]

Commands:
  demo [--data-dir DIR]            generate DIR/input (default data/demo) once, replay it
                                   into DIR/output and print the summary
  replay --input DIR --output DIR  replay the seed's CSV files (see replay --help)
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo":
      return await demo(rest);
    case "replay":
      return await runReplayCli(rest);
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

if (import.meta.main) Deno.exit(await main(Deno.args));
