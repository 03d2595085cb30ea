/** Unit tests for domain/ledger.ts: balance arithmetic and its assertions. */

import assert from "node:assert/strict";
import { InvariantError } from "../../domain/assert.ts";
import { Ledger } from "../../domain/ledger.ts";

const MAX = Number.MAX_SAFE_INTEGER;
const USD = 1;
const BTC = 2;

function fresh() {
  const ledger = new Ledger(4);
  const acct = ledger.open(7);
  return { ledger, acct };
}

Deno.test("open creates an empty account once; find does not create", () => {
  const ledger = new Ledger(4);
  assert.equal(ledger.find(7), undefined);
  const a = ledger.open(7);
  assert.equal(a.userId, 7);
  assert.deepEqual([...a.available], [0, 0, 0, 0]);
  assert.deepEqual([...a.frozen], [0, 0, 0, 0]);
  assert.equal(a.openOrders, 0);
  assert.equal(ledger.open(7), a);
  assert.equal(ledger.find(7), a);
  assert.equal(ledger.accounts.size, 1);
});

Deno.test("deposit and withdraw move available and supply, and count totals", () => {
  const { ledger, acct } = fresh();
  ledger.deposit(acct, USD, 1000);
  ledger.deposit(acct, USD, 500);
  ledger.withdraw(acct, USD, 300);
  assert.equal(acct.available[USD], 1200);
  assert.equal(acct.frozen[USD], 0);
  assert.equal(ledger.supply[USD], 1200);
  assert.equal(ledger.deposited[USD], 1500n);
  assert.equal(ledger.withdrawn[USD], 300n);
  assert.equal(acct.available[BTC], 0);
  assert.equal(ledger.supply[BTC], 0);
});

Deno.test("hold, release, spend and credit move exactly the amount", async (t) => {
  const { ledger, acct } = fresh();
  ledger.deposit(acct, USD, 1000);
  await t.step("hold 600 moves it to frozen", () => {
    ledger.hold(acct, USD, 600);
    assert.deepEqual([acct.available[USD], acct.frozen[USD]], [400, 600]);
  });
  await t.step("release 100 moves it back", () => {
    ledger.release(acct, USD, 100);
    assert.deepEqual([acct.available[USD], acct.frozen[USD]], [500, 500]);
  });
  await t.step("spendFrozen 450 removes it from frozen only", () => {
    ledger.spendFrozen(acct, USD, 450);
    assert.deepEqual([acct.available[USD], acct.frozen[USD]], [500, 50]);
  });
  await t.step("credit 9 adds to available of another asset", () => {
    ledger.credit(acct, BTC, 9);
    assert.deepEqual([acct.available[BTC], acct.frozen[BTC]], [9, 0]);
  });
  await t.step("creditFee adds to the fee account", () => {
    ledger.creditFee(USD, 3);
    ledger.creditFee(USD, 4);
    assert.equal(ledger.fees[USD], 7);
    assert.equal(ledger.fees[BTC], 0);
  });
  await t.step("holding and releasing everything is exact", () => {
    ledger.hold(acct, USD, 500);
    ledger.release(acct, USD, 550);
    assert.deepEqual([acct.available[USD], acct.frozen[USD]], [550, 0]);
  });
});

Deno.test("over-hold, over-release, over-spend and overdraft withdraw are invariant errors", async (t) => {
  const { ledger, acct } = fresh();
  ledger.deposit(acct, USD, 100);
  ledger.hold(acct, USD, 40);
  const before = () => [acct.available[USD], acct.frozen[USD], ledger.supply[USD]];
  assert.deepEqual(before(), [60, 40, 100]);
  await t.step("hold 61 with 60 available", () => {
    assert.throws(() => ledger.hold(acct, USD, 61), {
      name: "InvariantError",
      message: "Invariant violated: hold 61 exceeds available of user 7",
    });
    assert.deepEqual(before(), [60, 40, 100]);
  });
  await t.step("release 41 with 40 frozen", () => {
    assert.throws(() => ledger.release(acct, USD, 41), /release 41 exceeds frozen of user 7/);
    assert.deepEqual(before(), [60, 40, 100]);
  });
  await t.step("spend 41 with 40 frozen", () => {
    assert.throws(() => ledger.spendFrozen(acct, USD, 41), /spend 41 exceeds frozen of user 7/);
    assert.deepEqual(before(), [60, 40, 100]);
  });
  await t.step("withdraw 61 with 60 available (frozen does not count)", () => {
    assert.throws(() => ledger.withdraw(acct, USD, 61), InvariantError);
    assert.deepEqual(before(), [60, 40, 100]);
  });
  await t.step("the exact amounts are fine", () => {
    ledger.hold(acct, USD, 60);
    ledger.spendFrozen(acct, USD, 100);
    assert.deepEqual(before(), [0, 0, 100]);
  });
});

Deno.test("canDeposit allows supply up to 2^53 - 1 and no further", () => {
  const { ledger, acct } = fresh();
  assert.equal(ledger.canDeposit(USD, MAX), true);
  assert.equal(ledger.canDeposit(USD, MAX + 1), false); // 2^53
  ledger.deposit(acct, USD, MAX - 10);
  assert.equal(ledger.canDeposit(USD, 10), true);
  assert.equal(ledger.canDeposit(USD, 11), false);
  assert.equal(ledger.canDeposit(USD, 12), false); // MAX + 2 rounds to 2^53 + 2: still refused
  // supply is per asset and counts every user
  const other = ledger.open(8);
  assert.equal(ledger.canDeposit(BTC, MAX), true);
  assert.throws(() => ledger.deposit(other, USD, 11), /deposit of 11 overflows supply of asset 1/);
  ledger.deposit(other, USD, 10);
  assert.equal(ledger.supply[USD], MAX);
  assert.equal(ledger.canDeposit(USD, 1), false);
  // withdrawing makes room again
  ledger.withdraw(other, USD, 5);
  assert.equal(ledger.canDeposit(USD, 5), true);
  assert.equal(ledger.canDeposit(USD, 6), false);
});

Deno.test("deposited and withdrawn totals are bigints that may exceed 2^53", () => {
  const { ledger, acct } = fresh();
  for (let i = 0; i < 3; i++) {
    ledger.deposit(acct, USD, MAX);
    ledger.withdraw(acct, USD, MAX);
  }
  assert.equal(ledger.deposited[USD], 3n * BigInt(MAX));
  assert.equal(ledger.withdrawn[USD], 3n * BigInt(MAX));
  assert.equal(ledger.supply[USD], 0);
});
