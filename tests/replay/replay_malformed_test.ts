/**
 * Bad input stops the replay before anything runs: `file:line: reason` on stderr, a
 * non-zero exit code, and no output directory. Each case copies the small fixture and
 * breaks one file.
 */

import assert from "node:assert/strict";
import { runReplayCli } from "../../replay/replay_cli.ts";

const INPUT = new URL("../fixtures/replay_small/input/", import.meta.url).pathname;
const FILES = ["assets_config.csv", "symbols_config.csv", "balances_init.csv", "orders.csv"];

async function runQuiet(args: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  const { error, log } = console;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  console.log = () => {};
  try {
    const code = await runReplayCli(args);
    return { code, stderr: errors.join("\n") };
  } finally {
    console.error = error;
    console.log = log;
  }
}

/**
 * Copies the fixture into a temp dir, lets `edit` change file contents, replays it, and
 * returns the exit code, stderr and whether the output directory was created.
 */
async function replayEdited(
  edit: Record<string, (text: string) => string>,
): Promise<{ code: number; stderr: string; wroteOutput: boolean }> {
  const root = await Deno.makeTempDir({ prefix: "replay_bad_" });
  try {
    const input = `${root}/input`;
    await Deno.mkdir(input);
    for (const name of FILES) {
      const text = await Deno.readTextFile(`${INPUT}${name}`);
      await Deno.writeTextFile(`${input}/${name}`, (edit[name] ?? ((t) => t))(text));
    }
    const out = `${root}/out`;
    const { code, stderr } = await runQuiet(["--input", input, "--output", out]);
    const wroteOutput = await Deno.stat(out).then(() => true, () => false);
    return { code, stderr, wroteOutput };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Replaces line `n` (1-based) of a text. */
function setLine(n: number, line: string): (text: string) => string {
  return (text) => {
    const lines = text.split("\n");
    lines[n - 1] = line;
    return lines.join("\n");
  };
}

const ORDER_CASES: [string, string, RegExp][] = [
  [
    "a price with letters",
    "3,2,place,buy,9x.00,3.0000",
    /orders\.csv:4: price must be a plain decimal number, received "9x\.00"$/,
  ],
  [
    "a price with more decimals than the symbol's",
    "3,2,place,buy,99.001,3.0000",
    /orders\.csv:4: price has more than 2 decimal places, received "99\.001"$/,
  ],
  [
    "a qty with more decimals than the base asset's",
    "3,2,place,buy,99.00,3.00001",
    /orders\.csv:4: qty has more than 4 decimal places, received "3\.00001"$/,
  ],
  [
    "a negative qty",
    "3,2,place,buy,99.00,-3",
    /orders\.csv:4: qty must be a plain decimal number, received "-3"$/,
  ],
  [
    "an exponent",
    "3,2,place,buy,9.9e1,3",
    /orders\.csv:4: price must be a plain decimal number, received "9\.9e1"$/,
  ],
  [
    "a number without digits after the point",
    "3,2,place,buy,99.,3",
    /orders\.csv:4: price must be a plain decimal number/,
  ],
  ["a qty above 2^53 units", "3,2,place,buy,99,900719925474.1", /orders\.csv:4: qty is too large/],
  [
    "an unknown side",
    "3,2,place,hold,99.00,3.0000",
    /orders\.csv:4: side must be "buy" or "sell", received "hold"$/,
  ],
  [
    "an unknown action",
    "3,2,amend,buy,99.00,3.0000",
    /orders\.csv:4: action must be "place" or "cancel", received "amend"$/,
  ],
  ["too few columns", "3,2,place,buy,99.00", /orders\.csv:4: expected 6 columns, found 5$/],
  [
    "too many columns",
    "3,2,place,buy,99.00,3.0000,x",
    /orders\.csv:4: expected 6 columns, found 7$/,
  ],
  [
    "a user id that is not an integer",
    "3,2.5,place,buy,99.00,3.0000",
    /orders\.csv:4: user_id must be a non-negative integer, received "2\.5"$/,
  ],
  [
    "a user id that is a name",
    "3,bob,place,buy,99.00,3.0000",
    /orders\.csv:4: user_id must be a non-negative integer, received "bob"$/,
  ],
  [
    "an order id that is missing",
    ",2,place,buy,99.00,3.0000",
    /orders\.csv:4: order_id must be a non-negative integer, received ""$/,
  ],
  [
    "a cancel row with a price",
    "5,3,cancel,,101.50,",
    /orders\.csv:4: price must be empty in a cancel row, received "101\.50"$/,
  ],
  ["an empty line between rows", "", /orders\.csv:4: empty line$/],
];

for (const [what, row, message] of ORDER_CASES) {
  Deno.test(`orders.csv with ${what} stops the replay with file:line and writes nothing`, async () => {
    const r = await replayEdited({ "orders.csv": setLine(4, row) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, message);
    assert.equal(r.wroteOutput, false, "no output may be written for a malformed input");
  });
}

Deno.test("a malformed row late in the file stops the run before any command runs", async () => {
  // Line 27 is the last row; nothing may be written although 25 good rows precede it.
  const r = await replayEdited({ "orders.csv": setLine(27, "3,2,cancel,buy,,") });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /orders\.csv:27: side must be empty in a cancel row, received "buy"$/);
  assert.equal(r.wroteOutput, false);
});

Deno.test("an unknown orders.csv header is reported on line 1", async () => {
  const r = await replayEdited({ "orders.csv": setLine(1, "id,user,side,price,qty") });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /orders\.csv:1: unknown header "id,user,side,price,qty"/);
  assert.equal(r.wroteOutput, false);
});

Deno.test("balances_init.csv naming an unknown asset stops the replay", async () => {
  const r = await replayEdited({ "balances_init.csv": setLine(3, "1,9,1000000,0,0") });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /balances_init\.csv:3: unknown asset_id 9$/);
  assert.equal(r.wroteOutput, false);
});

Deno.test("balances_init.csv with a decimal avail stops the replay", async () => {
  const r = await replayEdited({ "balances_init.csv": setLine(2, "1,1,1000.5,0,0") });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /balances_init\.csv:2: avail must be a non-negative integer, received "1000\.5"$/,
  );
});

Deno.test("symbols_config.csv naming an unknown asset stops the replay", async () => {
  const r = await replayEdited({
    "symbols_config.csv": setLine(2, "0,BTC_USDT,1,7,2,2,10000,20000"),
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /symbols_config\.csv:2: unknown quote_asset_id 7$/);
});

Deno.test("assets_config.csv with display decimals above decimals stops the replay", async () => {
  const r = await replayEdited({ "assets_config.csv": setLine(2, "1,BTC,4,6,true") });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /assets_config\.csv:2: display_decimals must be at most decimals \(4\), received 6$/,
  );
});

Deno.test("a missing input file is named and nothing is written", async () => {
  const root = await Deno.makeTempDir({ prefix: "replay_missing_" });
  try {
    await Deno.mkdir(`${root}/input`);
    for (const name of FILES.slice(0, 3)) {
      await Deno.copyFile(`${INPUT}${name}`, `${root}/input/${name}`);
    }
    const r = await runQuiet(["--input", `${root}/input`, "--output", `${root}/out`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /input\/orders\.csv: input file not found$/);
    assert.equal(await Deno.stat(`${root}/out`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing input directory is reported with a non-zero exit code", async () => {
  const r = await runQuiet(["--input", "/nonexistent/replay/input", "--output", "/tmp/unused"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/nonexistent\/replay\/input: input directory not found/);
});

Deno.test("command line errors exit with 2 and print the usage", async () => {
  for (
    const args of [[], ["--input", INPUT], ["--output", "/tmp/x"], ["--input", INPUT, "--bogus"]]
  ) {
    const r = await runQuiet(args);
    assert.equal(r.code, 2, `args ${JSON.stringify(args)}`);
    assert.match(r.stderr, /Usage: replay --input DIR --output DIR/);
  }
});
