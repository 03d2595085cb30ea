/**
 * api/hmac_sha256.ts against WebCrypto: SHA-256 and HMAC-SHA256 on random keys and
 * messages, with every padding boundary (55, 56, 63, 64 bytes ...) and keys longer than a
 * block; and signPayload on random Unicode text.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { HmacSha256Key, sha256 } from "../../api/hmac_sha256.ts";
import { signatureMatches, signPayload } from "../../api/signature.ts";

async function webHmac(key: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new Uint8Array(msg)));
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

const SEED = Number(Deno.env.get("PROPERTY_SEED") ?? 20261122);

Deno.test("sha256 equals WebCrypto at every length up to 300 bytes", async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(300));
  for (let n = 0; n <= 300; n++) {
    const m = bytes.subarray(0, n);
    const want = new Uint8Array(await crypto.subtle.digest("SHA-256", m.slice()));
    assert.equal(hex(sha256(m)), hex(want), `length ${n}`);
  }
});

// WebCrypto refuses empty keys; API secrets are never empty.
Deno.test("HMAC-SHA256 equals WebCrypto on random keys and messages", async () => {
  console.log(`seed ${SEED} (PROPERTY_SEED to replay)`);
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 150 }),
      fc.uint8Array({ minLength: 0, maxLength: 400 }),
      async (key, msg) => {
        const out = new Uint8Array(32);
        const k = new HmacSha256Key(key);
        k.sign(msg, msg.length, out);
        assert.equal(hex(out), hex(await webHmac(key, msg)));
        // The same key object signs again from its cached pads.
        k.sign(msg, msg.length, out);
        assert.equal(hex(out), hex(await webHmac(key, msg)));
      },
    ),
    { seed: SEED, numRuns: 400 },
  );
});

Deno.test("signPayload and signatureMatches agree with WebCrypto on Unicode text", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 1, maxLength: 64 }),
      fc.string({ unit: "grapheme", maxLength: 200 }),
      async (secret, payload) => {
        const enc = new TextEncoder();
        const want = hex(await webHmac(enc.encode(secret), enc.encode(payload)));
        assert.equal(signPayload(secret, payload), want);
        assert.equal(signatureMatches(secret, payload, want), true);
        const flipped = want.slice(0, 63) + (want[63] === "0" ? "1" : "0");
        assert.equal(signatureMatches(secret, payload, flipped), false);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});
