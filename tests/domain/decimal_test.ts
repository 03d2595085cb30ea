/** Unit tests for domain/decimal.ts: exact decimal strings at the API edge. */

import assert from "node:assert/strict";
import { formatUnits, parseUnits } from "../../domain/decimal.ts";

const MAX = Number.MAX_SAFE_INTEGER;

function units(text: unknown, decimals: number, opts: Parameters<typeof parseUnits>[2]): number {
  const r = parseUnits(text, decimals, opts);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse, got ${JSON.stringify(r)}`);
  return r.units;
}

function rejected(text: unknown, decimals: number, opts: Parameters<typeof parseUnits>[2]): string {
  const r = parseUnits(text, decimals, opts);
  assert.ok(!r.ok, `expected ${String(text)} to be rejected, got ${JSON.stringify(r)}`);
  return r.message;
}

const qty = { field: "qty" };

Deno.test("parseUnits accepts plain decimals and scales them to units", async (t) => {
  await t.step('"1" with 8 decimals is 10^8', () => assert.equal(units("1", 8, qty), 100_000_000));
  await t.step('"0.5" with 1 decimal is 5', () => assert.equal(units("0.5", 1, qty), 5));
  await t.step('"12.345" with 4 decimals is 123450', () => {
    assert.equal(units("12.345", 4, qty), 123_450);
  });
  await t.step('"12.345" with 3 decimals is 12345', () => {
    assert.equal(units("12.345", 3, qty), 12_345);
  });
  await t.step('"7" with 0 decimals is 7', () => assert.equal(units("7", 0, qty), 7));
  await t.step('"0.00000001" with 8 decimals is 1', () => {
    assert.equal(units("0.00000001", 8, qty), 1);
  });
  await t.step("leading zeros are harmless", () => assert.equal(units("007.10", 2, qty), 710));
  await t.step("2^53 - 1 units is the default maximum and is accepted", () => {
    assert.equal(units("9007199254740991", 0, qty), MAX);
    assert.equal(units("90071992.54740991", 8, qty), MAX);
  });
});

Deno.test("parseUnits accepts trailing zeros beyond the precision", () => {
  assert.equal(units("1.50", 1, qty), 15);
  assert.equal(units("1.5000000", 1, qty), 15);
  assert.equal(units("3.0", 0, qty), 3);
  assert.equal(units("0.1000", 2, qty), 10);
});

Deno.test("parseUnits rejects non-zero digits beyond the precision, stating the value", () => {
  assert.equal(
    rejected("1.55", 1, qty),
    'qty has more than 1 decimal places, received "1.55"',
  );
  assert.equal(
    rejected("0.000000001", 8, { field: "price" }),
    'price has more than 8 decimal places, received "0.000000001"',
  );
  assert.match(rejected("1.5", 0, qty), /more than 0 decimal places, received "1\.5"/);
  assert.match(rejected("1.500001", 1, qty), /received "1\.500001"/);
});

Deno.test("parseUnits rejects signs, exponents and malformed text, stating the value", async (t) => {
  await t.step('"-5" must be positive', () => {
    assert.equal(rejected("-5", 2, qty), 'qty must be positive, received "-5"');
  });
  await t.step('"-0" is rejected even when zero is allowed', () => {
    assert.match(rejected("-0", 2, { field: "qty", allowZero: true }), /received "-0"/);
  });
  const malformed = [
    "+5",
    "1e5",
    "1E5",
    ".5",
    "5.",
    "",
    " 1",
    "1 ",
    "1 000",
    "1,5",
    "0x10",
    "1.2.3",
    "١",
  ];
  for (const text of malformed) {
    await t.step(`${JSON.stringify(text)} is not a plain decimal`, () => {
      assert.equal(
        rejected(text, 2, qty),
        `qty must be a plain decimal number, received "${text}"`,
      );
    });
  }
});

Deno.test("parseUnits rejects non-strings, describing what it received", () => {
  assert.equal(rejected(5, 2, qty), "qty must be a decimal string, received 5");
  assert.equal(rejected(0.5, 2, qty), "qty must be a decimal string, received 0.5");
  assert.equal(rejected(null, 2, qty), "qty must be a decimal string, received null");
  assert.equal(rejected(undefined, 2, qty), "qty must be a decimal string, received undefined");
  assert.equal(rejected(true, 2, qty), "qty must be a decimal string, received true");
  assert.equal(rejected({ v: "1" }, 2, qty), "qty must be a decimal string, received object");
  assert.equal(rejected(5n, 2, qty), "qty must be a decimal string, received bigint");
});

Deno.test("parseUnits rejects zero unless allowZero", () => {
  assert.equal(rejected("0", 2, qty), 'qty must be positive, received "0"');
  assert.equal(rejected("0.000", 2, qty), 'qty must be positive, received "0.000"');
  assert.equal(rejected("0.00", 2, qty), 'qty must be positive, received "0.00"');
  assert.equal(units("0", 2, { field: "qty", allowZero: true }), 0);
  assert.equal(units("0.000", 2, { field: "qty", allowZero: true }), 0);
  assert.equal(units("000", 0, { field: "qty", allowZero: true }), 0);
});

Deno.test("parseUnits rejects values beyond 2^53 - 1 and beyond maxUnits", () => {
  assert.equal(
    rejected("9007199254740992", 0, qty),
    'qty is too large, received "9007199254740992"',
  );
  assert.match(rejected("90071992.54740992", 8, qty), /too large, received "90071992\.54740992"/);
  const huge = "9".repeat(60);
  assert.equal(rejected(huge, 0, qty), `qty is too large, received "${huge}"`);
  // a bound of 1000 units: "10.00" with 2 decimals is exactly 1000, "10.01" is 1001
  assert.equal(units("10.00", 2, { field: "qty", maxUnits: 1000 }), 1000);
  assert.equal(
    rejected("10.01", 2, { field: "qty", maxUnits: 1000 }),
    'qty is too large, received "10.01"',
  );
});

Deno.test("parseUnits rejects text longer than 64 characters, showing its start", () => {
  const ok64 = "1" + "0".repeat(63); // 64 characters: length is fine, value is too large
  assert.match(rejected(ok64, 0, qty), /too large/);
  // 64 characters with a non-zero 62nd decimal: judged on its digits, not its length
  const ok64small = "0." + "0".repeat(61) + "1";
  assert.equal(ok64small.length, 64);
  assert.match(rejected(ok64small, 2, qty), /more than 2 decimal places/);
  const long = "1".repeat(65);
  assert.equal(
    rejected(long, 0, qty),
    `qty is longer than 64 characters, received "${"1".repeat(64)}..."`,
  );
  const longZeros = "1." + "0".repeat(63); // valid shape, but 65 characters
  assert.match(
    rejected(longZeros, 2, qty),
    /^qty is longer than 64 characters, received "1\.0+\.\.\."$/,
  );
});

Deno.test("formatUnits shows all decimals by default, padding small values", () => {
  assert.equal(formatUnits(123_450, 4), "12.3450");
  assert.equal(formatUnits(5, 8), "0.00000005");
  assert.equal(formatUnits(0, 2), "0.00");
  assert.equal(formatUnits(100_000_000, 8), "1.00000000");
  assert.equal(formatUnits(MAX, 8), "90071992.54740991");
});

Deno.test("formatUnits truncates to the display decimals, never rounds", () => {
  assert.equal(formatUnits(123_450, 4, 2), "12.34");
  assert.equal(formatUnits(129_999, 4, 2), "12.99");
  assert.equal(formatUnits(5, 8, 2), "0.00");
  assert.equal(formatUnits(123_456, 4, 0), "12");
  assert.equal(formatUnits(-123_456, 4, 2), "-12.34"); // toward zero
  assert.equal(formatUnits(-5, 2), "-0.05");
});

Deno.test("formatUnits with 0 decimals prints the integer", () => {
  assert.equal(formatUnits(42, 0), "42");
  assert.equal(formatUnits(0, 0), "0");
  assert.equal(formatUnits(MAX, 0), "9007199254740991");
});

Deno.test("formatUnits throws on units that are not safe integers, stating the value", () => {
  assert.throws(() => formatUnits(1.5, 2), {
    name: "RangeError",
    message: "Cannot format units: not a safe integer, received 1.5",
  });
  assert.throws(() => formatUnits(2 ** 53, 2), RangeError);
});

Deno.test("formatUnits and parseUnits round-trip", () => {
  for (const [u, d] of [[1, 8], [123_450, 4], [MAX, 8], [7, 0], [10, 1]] as const) {
    assert.equal(units(formatUnits(u, d), d, qty), u);
  }
});
