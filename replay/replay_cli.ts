/**
 * The batch replay command: `replay --input DIR --output DIR`.
 *
 * Reads the seed's CSV inputs (assets_config.csv, symbols_config.csv, balances_init.csv,
 * orders.csv) from DIR, runs every order row through the engine in file order, and
 * writes balances_final.csv, orderbook.csv, trades.csv and summary.txt into the output
 * directory. A malformed row stops the run before anything runs or is written, with
 * `file:line: reason` on stderr.
 *
 *   deno run -A replay/replay_cli.ts --input fixtures/in --output out
 */

import { ReplayInputError } from "./csv_row_error.ts";
import { replayDirectory } from "./replay_job.ts";

const USAGE = `Usage: replay --input DIR --output DIR [--no-progress] [--check-invariants]

Replays orders.csv of DIR (with assets_config.csv, symbols_config.csv and
balances_init.csv) through the matching engine and writes balances_final.csv,
orderbook.csv, trades.csv and summary.txt into the output directory.

  --input DIR      directory holding the four input CSV files
  --output DIR     directory for the outputs (created if needed)
  --no-progress    never draw the progress bar (it is drawn only on a terminal)
  --check-invariants
                   audit the engine's invariants (books, holds, conservation)
                   after the run, before writing the outputs
  -h, --help       show this help
`;

/** Exit codes: 0 done, 1 bad or missing input (or a failed run), 2 bad command line. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

interface CliArgs {
  input: string;
  output: string;
  progress: boolean;
  checkInvariants: boolean;
}

/**
 * Runs the replay command with `args` (without the program name) and returns the exit
 * code. Messages go to stderr, the final one-line report to stdout. Never throws for bad
 * input; an unexpected error (an engine invariant, an I/O failure) is reported and
 * returns {@link EXIT_FAILED}.
 */
export async function runReplayCli(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    if (parsed === "help") {
      console.log(USAGE);
      return EXIT_OK;
    }
    console.error(`replay: ${parsed}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const r = await replayDirectory(parsed.input, parsed.output, {
      progress: parsed.progress,
      checkInvariants: parsed.checkInvariants,
    });
    const c = r.counts;
    console.log(
      `replay: ${c.commands} commands (${c.placesAccepted + c.cancelsAccepted} accepted, ` +
        `${c.placesRejected + c.cancelsRejected} rejected), ${r.trades} trades, ` +
        `${r.restingOrders} resting orders in ${r.timings.wallMs.toFixed(0)} ms ` +
        `(parse ${r.timings.parseMs.toFixed(0)}, run ${r.timings.runMs.toFixed(0)}, ` +
        `write ${r.timings.writeMs.toFixed(0)}); outputs in ${parsed.output}`,
    );
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ReplayInputError) {
      console.error(e.message);
    } else {
      console.error(`replay failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    return EXIT_FAILED;
  }
}

/** The parsed arguments, "help", or a message saying what is wrong. */
function parseArgs(args: string[]): CliArgs | string {
  let input: string | undefined;
  let output: string | undefined;
  let progress = true;
  let checkInvariants = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? args[++i];
    switch (name) {
      case "-h":
      case "--help":
        return "help";
      case "--input":
        input = value();
        if (!input) return "--input needs a directory";
        break;
      case "--output":
        output = value();
        if (!output) return "--output needs a directory";
        break;
      case "--no-progress":
        progress = false;
        break;
      case "--check-invariants":
        checkInvariants = true;
        break;
      default:
        return `unknown argument "${arg}"`;
    }
  }
  if (input === undefined) return "missing --input DIR";
  if (output === undefined) return "missing --output DIR";
  return { input, output, progress, checkInvariants };
}

if (import.meta.main) {
  Deno.exit(await runReplayCli(Deno.args));
}
