/** Round trips of command WAL payloads. */

import assert from "node:assert/strict";
import {
  decodeCommand,
  type DurableCommand,
  encodeCommand,
} from "../../persistence/command_codec.ts";

const cases: DurableCommand[] = [
  {
    type: "place",
    tsMs: 1_763_769_600_123,
    clientRef: 42,
    d: {
      orderId: 2 ** 53 - 1,
      userId: 7,
      symbolId: 3,
      side: "SELL",
      orderType: "LIMIT",
      timeInForce: "FOK",
      postOnly: false,
      priceTicks: 5_000_000,
      qtyUnits: 123_456_789,
      quoteUnits: 0,
      budgetUnits: -1,
      stp: "EXPIRE_BOTH",
      cid: "my-order.1/é",
      holdUnits: 123_456_789,
      tsMs: 1_763_769_600_123,
    },
  },
  {
    type: "place",
    tsMs: 1,
    clientRef: -1,
    d: {
      orderId: 9,
      userId: 0,
      symbolId: 0,
      side: "BUY",
      orderType: "MARKET",
      timeInForce: "IOC",
      postOnly: false,
      priceTicks: 0,
      qtyUnits: 0,
      quoteUnits: 5_000,
      budgetUnits: 5_000,
      stp: "NONE",
      cid: null,
      holdUnits: 5_000,
      tsMs: 1,
    },
  },
  { type: "cancel", tsMs: 5, clientRef: 1, c: { userId: 3, orderId: 11 } },
  { type: "cancel", tsMs: 5, clientRef: 2, c: { userId: 3, cid: "abc", symbolId: 2 } },
  {
    type: "amend",
    tsMs: 6,
    clientRef: 3,
    d: { userId: 3, orderId: 11, qtyUnits: 500, priceTicks: 99, extraHoldUnits: 17 },
  },
  {
    type: "deposit",
    tsMs: 7,
    clientRef: 4,
    c: { type: "deposit", userId: 1, assetId: 2, amountUnits: 2 ** 52 },
  },
  {
    type: "withdraw",
    tsMs: 8,
    clientRef: 5,
    c: { type: "withdraw", userId: 1, assetId: 2, amountUnits: 3 },
  },
];

Deno.test("every durable command survives encoding and decoding unchanged", () => {
  for (const c of cases) assert.deepEqual(decodeCommand(encodeCommand(c)), c);
});

Deno.test("a truncated or unknown command record is refused with the reason", () => {
  const bytes = encodeCommand(cases[0]);
  assert.throws(() => decodeCommand(bytes.subarray(0, 20)), /Corrupt command record: 20 bytes/);
  assert.throws(() => decodeCommand(bytes.subarray(0, bytes.length - 1)), /bad cid length/);
  const bad = bytes.slice();
  bad[0] = 99;
  assert.throws(() => decodeCommand(bad), /unknown type 99/);
});
