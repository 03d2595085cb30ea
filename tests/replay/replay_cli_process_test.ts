/**
 * The replay command as a separate process, the way `deno task replay` runs it: exit
 * codes, `file:line` on stderr, and no progress bar when stderr is not a terminal.
 */

import assert from "node:assert/strict";

const CLI = new URL("../../replay/replay_cli.ts", import.meta.url).pathname;
const INPUT = new URL("../fixtures/replay_small/input/", import.meta.url).pathname;

async function replayProcess(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the replay process exits 0, reports on stdout and draws no bar into a pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_cli_" });
  try {
    const r = await replayProcess(["--input", INPUT, "--output", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^replay: 26 commands \(19 accepted, 7 rejected\), 9 trades, 6 resting orders/,
    );
    assert.ok((await Deno.stat(`${dir}/summary.txt`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the replay process exits non-zero with file:line for a malformed row", async () => {
  const root = await Deno.makeTempDir({ prefix: "replay_cli_" });
  try {
    await Deno.mkdir(`${root}/in`);
    for (const f of ["assets_config.csv", "symbols_config.csv", "balances_init.csv"]) {
      await Deno.copyFile(`${INPUT}${f}`, `${root}/in/${f}`);
    }
    await Deno.writeTextFile(
      `${root}/in/orders.csv`,
      "order_id,user_id,side,price,qty\n1,1,sell,101.00,2\n2,1,buy,100.123,1\n",
    );
    const r = await replayProcess(["--input", `${root}/in`, "--output", `${root}/out`]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `${root}/in/orders.csv:3: price has more than 2 decimal places, received "100.123"`,
    );
    assert.equal(await Deno.stat(`${root}/out`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
