/**
 * The single-file distribution: `deno bundle` of main.ts (what `deno task bundle` runs)
 * gives one JS file that starts the exchange with plain `deno run` from another
 * directory, serves requests (its SQLite store worker included), and stops gracefully on
 * SIGTERM with exit code 0.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SignedClient } from "../../api/signed_client.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

Deno.test("the bundle runs the server from another directory and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bundle_test_" });
  try {
    const bundle = `${dir}/exchange.js`;
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--config", CONFIG, "-o", bundle, MAIN],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));

    // Run from a directory holding nothing but the bundle: no deno.json, no sources.
    const run = `${dir}/run`;
    await Deno.mkdir(run);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-net",
        bundle,
        "start",
        "--port",
        "0",
        "--data-dir",
        "./data",
      ],
      cwd: run,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines = readLines(child.stdout);
    let output = "";
    let port = 0;
    let alice: { key: string; secret: string } | undefined;
    // Read with next(), not a for-await that breaks: breaking would cancel the pipe, and
    // the server's later lines would then fail to write.
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      const line = r.value;
      output += line + "\n";
      const demo = /alice: user_id \d+, api_key (\w+), secret (\w+)/.exec(line);
      if (demo) alice = { key: demo[1], secret: demo[2] };
      const m = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        port = Number(m[1]);
        break;
      }
    }
    assert.ok(port > 0, `the server said where it listens:\n${output}`);
    assert.ok(alice !== undefined, "the first start created the demo users");

    const base = `http://127.0.0.1:${port}`;
    const health = await (await fetch(`${base}/health`)).json();
    assert.equal(health.data.status, "ok");
    const client = new SignedClient(base, { apiKey: alice.key, secret: alice.secret });
    const placed = await client.post<{ status: string }>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "65000",
      qty: "0.5",
    });
    assert.equal(placed.code, 0, placed.msg);
    const orders = await client.get<{ orders: unknown[] }>("/api/v1/orders");
    assert.equal(orders.data?.orders.length, 1, "history comes from the store's worker");

    child.kill("SIGTERM");
    for (let r = await lines.next(); !r.done; r = await lines.next()) output += r.value + "\n";
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, `graceful stop:\n${output}\n${stderr}`);
    assert.ok((await Deno.stat(`${run}/data/exchange.db`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf !== "") yield buf;
}
