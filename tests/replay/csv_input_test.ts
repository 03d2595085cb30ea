/**
 * Parsing of the replay's CSV inputs: exact decimal conversion (checked against the
 * domain's `parseUnits` on random strings), both orders.csv layouts, line ends.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseUnits } from "../../domain/decimal.ts";
import { parseOrders } from "../../replay/csv_input.ts";
import { ReplayInputError } from "../../replay/csv_row_error.ts";
import { ROW_BUY, ROW_CANCEL, ROW_SELL } from "../../replay/order_columns.ts";
import { runReplayCli } from "../../replay/replay_cli.ts";

const enc = new TextEncoder();

function orders(text: string, priceDecimals = 2, qtyDecimals = 8) {
  return parseOrders(enc.encode(text), "orders.csv", priceDecimals, qtyDecimals);
}

/** The units the scanner reads for `text` as a price with `decimals`, or its error. */
function scanPrice(text: string, decimals: number): number | string {
  try {
    const r = orders(`order_id,user_id,side,price,qty\n1,1,buy,${text},1\n`, decimals, 0);
    return r.orders.priceTicks[0];
  } catch (e) {
    if (e instanceof ReplayInputError) return e.reason;
    throw e;
  }
}

Deno.test("decimal prices and quantities convert exactly, with no floating point", () => {
  const r = orders(
    "order_id,user_id,side,price,qty\n" +
      "1,81,buy,85251.66,0.007813\n" +
      "2,86,sell,84968.35,0.230128\n" +
      "3,7,buy,0.01,12\n" +
      "4,7,sell,1.5,1.00000000\n" +
      "5,7,buy,90071992547409.91,0.1\n",
  );
  assert.equal(r.format, "places");
  assert.equal(r.orders.length, 5);
  assert.deepEqual([...r.orders.priceTicks.subarray(0, 5)], [
    8525166,
    8496835,
    1,
    150,
    9007199254740991,
  ]);
  assert.deepEqual([...r.orders.qtyUnits.subarray(0, 5)], [
    781300,
    23012800,
    1200000000,
    100000000,
    10000000,
  ]);
  // 0.1 + 0.2 style inputs stay exact: 0.29 with 2 decimals is 29, not 28.999...
  assert.equal(scanPrice("0.29", 2), 29);
  assert.equal(scanPrice("1.005", 3), 1005);
});

Deno.test("the legacy 5-column layout makes every row a limit place", () => {
  const r = orders(
    "order_id,user_id,side,price,qty\n1,81,buy,85251.66,0.007813\n2,86,SELL,84968.35,0.230128",
  );
  assert.equal(r.format, "places");
  assert.deepEqual([...r.orders.kind.subarray(0, 2)], [ROW_BUY, ROW_SELL]);
  assert.deepEqual([...r.orders.orderId.subarray(0, 2)], [1, 2]);
  assert.deepEqual([...r.orders.userId.subarray(0, 2)], [81, 86]);
  assert.equal(r.maxUserId, 86);
});

Deno.test("the action layout reads places and cancels, CRLF line ends and a BOM", () => {
  const r = orders(
    "\uFEFForder_id,user_id,action,side,price,qty\r\n" +
      "1,81,place,buy,85251.66,0.007813\r\n" +
      "1,81,cancel,,,\r\n" +
      "2,86,Place,sell,84968.35,0.230128\r\n",
  );
  assert.equal(r.format, "actions");
  assert.equal(r.orders.length, 3);
  assert.deepEqual([...r.orders.kind.subarray(0, 3)], [ROW_BUY, ROW_CANCEL, ROW_SELL]);
  assert.deepEqual([...r.orders.orderId.subarray(0, 3)], [1, 1, 2]);
  assert.equal(r.orders.priceTicks[2], 8496835);
});

Deno.test("zeros beyond the configured decimals are accepted, other extra digits are not", () => {
  assert.equal(scanPrice("101.5000", 2), 10150);
  assert.equal(scanPrice("101.501", 2), 'price has more than 2 decimal places, received "101.501"');
  assert.equal(scanPrice("7.0", 0), 7);
  assert.equal(scanPrice("7.1", 0), 'price has more than 0 decimal places, received "7.1"');
});

Deno.test("zero is read as 0 units: rejecting it is the engine's call", () => {
  assert.equal(scanPrice("0.00", 2), 0);
});

Deno.test("the byte scanner agrees with parseUnits on random decimal strings", () => {
  const seed = Number(Deno.env.get("REPLAY_FC_SEED") ?? Date.now() % 2 ** 31);
  const text = fc.oneof(
    fc.stringMatching(/^[0-9]{0,19}(\.[0-9]{0,12})?$/),
    fc.string({ unit: fc.constantFrom(..."0123456789.-+e x"), maxLength: 24 }),
  );
  try {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 12 }), (s, decimals) => {
        const mine = scanPrice(s, decimals);
        const ref = parseUnits(s, decimals, { field: "price", allowZero: true });
        if (ref.ok) assert.equal(mine, ref.units, `"${s}" with ${decimals} decimals`);
        else assert.equal(typeof mine, "string", `"${s}" with ${decimals}: ${ref.message}`);
      }),
      { seed, numRuns: 3000 },
    );
  } catch (e) {
    throw new Error(`failed with REPLAY_FC_SEED=${seed}: ${(e as Error).message}`);
  }
});

Deno.test("a legacy 5-column orders.csv replays like the same places in the action layout", async () => {
  const fixture = new URL("../fixtures/replay_small/input/", import.meta.url).pathname;
  const root = await Deno.makeTempDir({ prefix: "replay_legacy_" });
  try {
    const actionRows = (await Deno.readTextFile(`${fixture}orders.csv`)).trim().split("\n")
      .slice(1).filter((l) => l.includes(",place,"));
    const legacy = "order_id,user_id,side,price,qty\n" +
      actionRows.map((l) => l.replace(",place,", ",")).join("\n") + "\n";
    const actions = "order_id,user_id,action,side,price,qty\n" + actionRows.join("\n") + "\n";
    const outputs: Record<string, string>[] = [];
    for (const [name, ordersCsv] of [["legacy", legacy], ["actions", actions]]) {
      const input = `${root}/${name}`;
      await Deno.mkdir(input);
      for (const f of ["assets_config.csv", "symbols_config.csv", "balances_init.csv"]) {
        await Deno.copyFile(`${fixture}${f}`, `${input}/${f}`);
      }
      await Deno.writeTextFile(`${input}/orders.csv`, ordersCsv);
      const { log } = console;
      console.log = () => {};
      const code = await runReplayCli(["--input", input, "--output", `${input}_out`]);
      console.log = log;
      assert.equal(code, 0);
      const files: Record<string, string> = {};
      for (const f of ["balances_final.csv", "orderbook.csv", "trades.csv"]) {
        files[f] = await Deno.readTextFile(`${input}_out/${f}`);
      }
      files.format = (await Deno.readTextFile(`${input}_out/summary.txt`))
        .match(/^orders_format: (.*)$/m)?.[1] ?? "";
      outputs.push(files);
    }
    const [fromLegacy, fromActions] = outputs;
    assert.equal(fromLegacy.format, "places");
    assert.equal(fromActions.format, "actions");
    for (const f of ["balances_final.csv", "orderbook.csv", "trades.csv"]) {
      assert.equal(fromLegacy[f], fromActions[f], f);
    }
    // The first fill is the fixture's trade 1 (NOTES.md, line 6): 7777 @ 10100, quote 7854.
    assert.match(fromLegacy["trades.csv"], /^1,0,10100,7777,7854,buy,1,5,1,3,155,78$/m);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
