/**
 * The TDengine REST client against a fake taosAdapter answering with bodies from
 * TDengine's documentation: request shape and credentials, errors that arrive with HTTP
 * 200, exact integers up to 2^64 - 1, retries of transient failures only, and a clear
 * error when nothing answers.
 */

import assert from "node:assert/strict";
import {
  parseTdengineResponse,
  parseTdengineUrl,
  TdengineError,
  TdengineRestClient,
  TdengineUnavailableError,
} from "../../persistence/tdengine_rest.ts";
import {
  affectedRows,
  closedUrl,
  queryAnswer,
  startFakeTaosAdapter,
  taosError,
} from "./fake_taosadapter.ts";

/** A client that records its backoff waits instead of sleeping. */
function client(url: string, attempts = 4): { c: TdengineRestClient; waits: number[] } {
  const waits: number[] = [];
  const c = new TdengineRestClient({
    url,
    attempts,
    backoffMs: 10,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  return { c, waits };
}

Deno.test("tdengine rest: POSTs the SQL as text with Basic credentials from the URL", async () => {
  const fake = await startFakeTaosAdapter(() => affectedRows(3));
  try {
    const withCreds = new TdengineRestClient({ url: fake.url.replace("//", "//us%40er:p%3Ass@") });
    const r = await withCreds.exec("INSERT INTO t VALUES (1, 2)", "trading");
    assert.deepEqual(r, {
      columns: [{ name: "affected_rows", type: "INT", length: 4 }],
      rows: [[3]],
    });
    await new TdengineRestClient({ url: fake.url }).exec("CREATE DATABASE IF NOT EXISTS x");
    assert.deepEqual(fake.requests.map((q) => [q.path, q.contentType, q.sql]), [
      ["/rest/sql/trading", "text/plain", "INSERT INTO t VALUES (1, 2)"],
      ["/rest/sql", "text/plain", "CREATE DATABASE IF NOT EXISTS x"],
    ]);
    assert.equal(fake.requests[0].authorization, `Basic ${btoa("us@er:p:ss")}`);
    // TDengine's documented default account when the URL names none.
    assert.equal(fake.requests[1].authorization, "Basic cm9vdDp0YW9zZGF0YQ==");
  } finally {
    await fake.close();
  }
});

Deno.test("tdengine rest: a URL that is not http(s)://host:port is refused", () => {
  for (
    const bad of ["", "localhost:6041", "ftp://h:6041", "http://h:6041/rest/sql", "http://h:1?x=1"]
  ) {
    assert.throws(() => parseTdengineUrl(bad), RangeError, bad);
  }
  assert.equal(parseTdengineUrl("http://root:taosdata@db.local:6041").base, "http://db.local:6041");
  assert.equal(parseTdengineUrl("https://h:6041/").base, "https://h:6041");
});

Deno.test("tdengine rest: an error with HTTP 200 and a code is thrown, not retried", async () => {
  const fake = await startFakeTaosAdapter(() => taosError(9728, 'syntax error near "1"'));
  try {
    const { c, waits } = client(fake.url);
    const e = await c.exec("SELEC 1", "trading").then(
      () => assert.fail("resolved"),
      (e) => e,
    );
    assert.ok(e instanceof TdengineError);
    assert.equal(e.code, 9728);
    assert.match(e.message, /TDengine error 0x2600: syntax error near "1" \(SQL: SELEC 1\)/);
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(waits, []);
  } finally {
    await fake.close();
  }
});

Deno.test("tdengine rest: unsigned 64-bit values are read exactly, never through a double", () => {
  const body = `{"code":0,"column_meta":[["a","BIGINT UNSIGNED",8],["b","BIGINT",8],` +
    `["c","BIGINT UNSIGNED",8],["d","DOUBLE",8],["e","NCHAR",64],["f","BOOL",1]],` +
    `"data":[[18446744073709551615,-9223372036854775808,9007199254740993,1.5,"x",true],` +
    `[9007199254740991,0,null,2e3,"18446744073709551615",false]],"rows":2}`;
  const r = parseTdengineResponse(body, "SELECT");
  assert.deepEqual(r.rows, [
    [18446744073709551615n, -9223372036854775808n, 9007199254740993n, 1.5, "x", true],
    [9007199254740991, 0, null, 2000, "18446744073709551615", false],
  ]);
  assert.equal(r.columns[0].type, "BIGINT UNSIGNED");
});

Deno.test("tdengine rest: bodies that are not TDengine's answer are reported as such", () => {
  assert.throws(() => parseTdengineResponse("<html>502</html>", "x"), TdengineUnavailableError);
  assert.throws(() => parseTdengineResponse('{"status":"succ"}', "x"), /without a code/);
  assert.throws(() => parseTdengineResponse('{"code":0,"data":[1]}', "x"), /not an array/);
});

Deno.test("tdengine rest: 502/503/504 and network errors are retried with backoff", async () => {
  const answers = [
    { status: 503, body: "busy" },
    { status: 502, body: "bad gateway" },
    taosError(0x000b, "Unable to establish connection"),
    affectedRows(1),
  ];
  const fake = await startFakeTaosAdapter((_req, i) => answers[i]);
  try {
    const { c, waits } = client(fake.url, 4);
    const r = await c.exec("INSERT INTO t VALUES (1)", "trading");
    assert.deepEqual(r.rows, [[1]]);
    assert.equal(fake.requests.length, 4);
    assert.deepEqual(waits, [10, 20, 40]);
    // Every attempt sent the same statement: it is idempotent by its keys.
    assert.ok(fake.requests.every((q) => q.sql === "INSERT INTO t VALUES (1)"));
  } finally {
    await fake.close();
  }
});

Deno.test("tdengine rest: 401 is an authentication error, not retried", async () => {
  const fake = await startFakeTaosAdapter(() => taosError(0x0357, "Authentication failure", 401));
  try {
    const { c } = client(fake.url);
    await assert.rejects(c.exec("SELECT 1"), (e) => {
      assert.ok(e instanceof TdengineError);
      assert.match(e.message, /authentication failed .* check the user and password/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("tdengine rest: nothing listening gives up after the attempts, naming the URL", async () => {
  const url = closedUrl();
  const { c, waits } = client(url, 3);
  await assert.rejects(c.exec("SELECT 1"), (e) => {
    assert.ok(e instanceof TdengineUnavailableError);
    assert.match(e.message, new RegExp(`Cannot reach TDengine at ${url} after 3 attempts`));
    return true;
  });
  assert.deepEqual(waits, [10, 20]);
});

Deno.test("tdengine rest: an answer slower than the timeout is retried", async () => {
  let calls = 0;
  const fake = await startFakeTaosAdapter(async () => {
    if (++calls === 1) await new Promise((r) => setTimeout(r, 300));
    return queryAnswer([["v", "INT", 4]], "[[7]]");
  });
  try {
    const c = new TdengineRestClient({ url: fake.url, timeoutMs: 100, backoffMs: 1 });
    assert.deepEqual((await c.exec("SELECT 7")).rows, [[7]]);
    assert.equal(fake.requests.length, 2);
  } finally {
    await fake.close();
  }
});
