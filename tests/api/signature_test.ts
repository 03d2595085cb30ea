/**
 * Unit tests for api/signature.ts. Expected HMACs come from RFC 4231 and from WebCrypto
 * (crypto.subtle), never from the code under test.
 */

import assert from "node:assert/strict";
import { signatureMatches, signaturePayload, signPayload } from "../../api/signature.ts";

/** Lowercase hex HMAC-SHA256 computed with WebCrypto, independent of node:crypto. */
async function webCryptoHmacHex(secret: string, payload: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

const SECRET = "s3cr3t-api-secret";
const TIMESTAMP_MS = "1700000000123";
const METHOD = "POST";
const PATH = "/api/v1/orders?symbol=BTC-USDT&test=1";
const BODY = '{"side":"buy","priceTicks":"100","qtyLots":"2"}';

Deno.test("signPayload matches the RFC 4231 test case 2 vector", () => {
  assert.equal(
    signPayload("Jefe", "what do ya want for nothing?"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("signPayload equals WebCrypto HMAC-SHA256 as lowercase hex, UTF-8 included", async () => {
  for (
    const [secret, payload] of [
      [SECRET, signaturePayload(TIMESTAMP_MS, METHOD, PATH, BODY)],
      ["ключ-🔑", '1700000000000GET/api/v1/ticker?symbol=ÉTH-€{"note":"naïve"}'],
      ["k", ""],
    ]
  ) {
    const got = signPayload(secret, payload);
    assert.equal(got, await webCryptoHmacHex(secret, payload), `payload ${payload}`);
    assert.match(got, /^[0-9a-f]{64}$/);
  }
});

Deno.test("signaturePayload concatenates timestamp, uppercased method, path with query, body", () => {
  assert.equal(
    signaturePayload("1700000000123", "get", "/api/v1/orders?symbol=BTC-USDT&limit=10", ""),
    "1700000000123GET/api/v1/orders?symbol=BTC-USDT&limit=10",
  );
  assert.equal(
    signaturePayload("1700000000123", "Post", "/api/v1/orders", '{"qtyLots":"1"}'),
    '1700000000123POST/api/v1/orders{"qtyLots":"1"}',
  );
  assert.equal(signaturePayload("1", "delete", "/a?b=c", "d"), "1DELETE/a?b=cd");
});

Deno.test("signatureMatches accepts the signature a client computes with WebCrypto", async () => {
  const payload = signaturePayload(TIMESTAMP_MS, "post", PATH, BODY);
  const clientSignature = await webCryptoHmacHex(SECRET, TIMESTAMP_MS + "POST" + PATH + BODY);
  assert.equal(signatureMatches(SECRET, payload, clientSignature), true);
});

Deno.test("signatureMatches rejects a change to timestamp, method, path, query, body or secret", () => {
  const signature = signPayload(SECRET, signaturePayload(TIMESTAMP_MS, METHOD, PATH, BODY));
  const variants: Array<[string, string, string[]]> = [
    ["timestamp", SECRET, ["1700000000124", METHOD, PATH, BODY]],
    ["method", SECRET, [TIMESTAMP_MS, "PUT", PATH, BODY]],
    ["path", SECRET, [TIMESTAMP_MS, METHOD, "/api/v1/order?symbol=BTC-USDT&test=1", BODY]],
    ["query", SECRET, [TIMESTAMP_MS, METHOD, "/api/v1/orders?symbol=BTC-USDT&test=2", BODY]],
    ["body", SECRET, [TIMESTAMP_MS, METHOD, PATH, BODY.replace('"2"', '"3"')]],
    ["body dropped", SECRET, [TIMESTAMP_MS, METHOD, PATH, ""]],
    ["secret", SECRET + "x", [TIMESTAMP_MS, METHOD, PATH, BODY]],
  ];
  // The unchanged request matches, so each false below is caused by the one change.
  assert.equal(
    signatureMatches(SECRET, signaturePayload(TIMESTAMP_MS, METHOD, PATH, BODY), signature),
    true,
  );
  for (const [what, secret, [ts, method, path, body]] of variants) {
    const payload = signaturePayload(ts, method, path, body);
    assert.equal(signatureMatches(secret, payload, signature), false, `changed ${what}`);
  }
});

Deno.test("signatureMatches rejects a signature with any one hex digit changed", () => {
  const payload = signaturePayload(TIMESTAMP_MS, METHOD, PATH, BODY);
  const signature = signPayload(SECRET, payload);
  for (let i = 0; i < signature.length; i++) {
    const digit = signature[i] === "0" ? "1" : "0";
    const tampered = signature.slice(0, i) + digit + signature.slice(i + 1);
    assert.equal(signatureMatches(SECRET, payload, tampered), false, `digit ${i} changed`);
  }
});

Deno.test("signatureMatches returns false without throwing on malformed signatures", () => {
  const payload = signaturePayload(TIMESTAMP_MS, METHOD, PATH, BODY);
  const signature = signPayload(SECRET, payload);
  assert.match(signature, /[a-f]/, "vector must contain a letter for the uppercase case");
  const malformed: Array<[string, unknown]> = [
    ["uppercase hex", signature.toUpperCase()],
    ["too short", signature.slice(0, 63)],
    ["too long", signature + "0"],
    ["double length", signature + signature],
    ["non-hex character", "g" + signature.slice(1)],
    ["empty", ""],
    ["surrounding whitespace", ` ${signature}`],
    ["trailing newline", `${signature}\n`],
    ["base64 of the mac", btoa(signature).slice(0, 64)],
    ["non-ASCII of the same length", "é".repeat(64)],
    ["null", null],
    ["undefined", undefined],
    ["number", 42],
  ];
  for (const [what, candidate] of malformed) {
    let result: boolean | undefined;
    assert.doesNotThrow(() => {
      result = signatureMatches(SECRET, payload, candidate as string);
    }, what);
    assert.equal(result, false, what);
  }
});
