/**
 * The ledger of one account shard: per user and asset, available and frozen units; the
 * fee account; and supply per asset (deposits minus withdrawals). Only the engine's risk
 * and settlement steps call it; what each open order holds is on the order itself.
 *
 * Every debit asserts that it leaves no negative balance.
 */

import { fail } from "./assert.ts";
import { DENSE_USER_IDS, MAX_UNITS } from "./limits.ts";

/** One user's balances, indexed by asset id. */
export class Account {
  readonly available: Float64Array;
  readonly frozen: Float64Array;
  /** Open (resting) orders of this user, across symbols. */
  openOrders = 0;
  constructor(readonly userId: number, assetSlots: number) {
    this.available = new Float64Array(assetSlots);
    this.frozen = new Float64Array(assetSlots);
  }
}

export class Ledger {
  /** Every account, by user id (iteration and sparse ids). */
  readonly accounts = new Map<number, Account>();
  /** The same accounts indexed directly by user id, for ids below DENSE_USER_IDS. */
  private readonly dense: (Account | undefined)[] = [];
  /** Fee account balance per asset. */
  readonly fees: Float64Array;
  /** Deposits minus withdrawals per asset: what users and the fee account hold together. */
  readonly supply: Float64Array;
  /** Cumulative deposits and withdrawals per asset (reporting; may exceed 2^53 over time). */
  readonly deposited: bigint[];
  readonly withdrawn: bigint[];

  constructor(readonly assetSlots: number) {
    this.fees = new Float64Array(assetSlots);
    this.supply = new Float64Array(assetSlots);
    this.deposited = new Array<bigint>(assetSlots).fill(0n);
    this.withdrawn = new Array<bigint>(assetSlots).fill(0n);
  }

  /** The account of `userId`, or undefined if it never received funds. */
  find(userId: number): Account | undefined {
    // Ledger lookups run several times per command: an array index beats a Map probe.
    return userId < DENSE_USER_IDS ? this.dense[userId] : this.accounts.get(userId);
  }

  /** The account of `userId`, created empty if needed. */
  open(userId: number): Account {
    let a = this.accounts.get(userId);
    if (a === undefined) {
      a = new Account(userId, this.assetSlots);
      this.accounts.set(userId, a);
      if (userId < DENSE_USER_IDS) {
        while (this.dense.length < userId) this.dense.push(undefined);
        this.dense[userId] = a;
      }
    }
    return a;
  }

  /** True if depositing `amount` more of `assetId` keeps the supply representable. */
  canDeposit(assetId: number, amount: number): boolean {
    return this.supply[assetId] + amount <= MAX_UNITS;
  }

  deposit(account: Account, assetId: number, amount: number): void {
    if (!this.canDeposit(assetId, amount)) {
      fail(`deposit of ${amount} overflows supply of asset ${assetId}`);
    }
    account.available[assetId] += amount;
    this.supply[assetId] += amount;
    this.deposited[assetId] += BigInt(amount);
  }

  withdraw(account: Account, assetId: number, amount: number): void {
    if (!(account.available[assetId] >= amount)) {
      fail(`withdraw ${amount} exceeds available of user ${account.userId}`);
    }
    account.available[assetId] -= amount;
    this.supply[assetId] -= amount;
    this.withdrawn[assetId] += BigInt(amount);
  }

  /** Moves `amount` from available to frozen. */
  hold(account: Account, assetId: number, amount: number): void {
    if (!(account.available[assetId] >= amount)) {
      fail(`hold ${amount} exceeds available of user ${account.userId}`);
    }
    account.available[assetId] -= amount;
    account.frozen[assetId] += amount;
  }

  /** Moves `amount` from frozen back to available. */
  release(account: Account, assetId: number, amount: number): void {
    if (!(account.frozen[assetId] >= amount)) {
      fail(`release ${amount} exceeds frozen of user ${account.userId}`);
    }
    account.frozen[assetId] -= amount;
    account.available[assetId] += amount;
  }

  /** Removes `amount` from frozen: it was paid to the counterparty. */
  spendFrozen(account: Account, assetId: number, amount: number): void {
    if (!(account.frozen[assetId] >= amount)) {
      fail(`spend ${amount} exceeds frozen of user ${account.userId}`);
    }
    account.frozen[assetId] -= amount;
  }

  /** Adds `amount` to available: received from a counterparty. */
  credit(account: Account, assetId: number, amount: number): void {
    account.available[assetId] += amount;
  }

  creditFee(assetId: number, amount: number): void {
    this.fees[assetId] += amount;
  }
}
