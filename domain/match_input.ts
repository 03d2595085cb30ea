/**
 * What the account shard (Acquiring) sends to the matcher, and the settlement calls the
 * matcher makes back. The messages are plain values so that they can cross an in-process
 * mailbox, a worker ring buffer or a network transport unchanged.
 *
 * `riskRef` is an opaque number chosen by the account shard (its hold record); the
 * matcher stores it with the order and hands it back with every settlement call, so that
 * settlement finds the hold without a lookup. The matcher never interprets it.
 */

import type { OrderType, Side, StpMode, TimeInForce } from "./types.ts";

/** An order that passed validation and whose funds are held. */
export interface MatchPlace {
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  /** 0 for market orders. */
  priceTicks: number;
  /** 0 for a market buy by quote amount. */
  qtyUnits: number;
  /** Quote budget of a market buy (by quote amount, or all available for one by qty); -1 otherwise. */
  budgetUnits: number;
  stp: StpMode;
  cid: string | null;
  /** When the order was accepted (ms), carried into its updates. */
  tsMs: number;
  riskRef: number;
}

/** Cancel by order id, or by the user's client order id. */
export interface MatchCancel {
  userId: number;
  orderId?: number;
  cid?: string;
  symbolId?: number;
}

/**
 * Amend an open order (see AmendOrder). `extraHoldUnits` were frozen by the account shard
 * for a larger hold; they are released if the matcher refuses the amend.
 */
export interface MatchAmend {
  userId: number;
  orderId: number;
  qtyUnits: number;
  /** The new price, or the order's current one for a reduce in place. */
  priceTicks: number;
  extraHoldUnits: number;
  riskRef: number;
}

/**
 * The settlement side of the account shard, as the matcher sees it: called in order, for
 * every money effect of matching. In one process the engine passes the shard itself;
 * between stages the calls are recorded and replayed on the settlement stage.
 */
export interface SettlementSink {
  /**
   * One fill of `qtyUnits` at the maker's price: the buyer pays `quoteUnits`, the seller
   * delivers `qtyUnits`; fees are taken from what each receives. `makerDone`: the maker
   * has nothing left, so release what it still holds and forget it.
   */
  settleFill(
    symbolId: number,
    makerRef: number,
    takerRef: number,
    takerIsSell: boolean,
    priceTicks: number,
    qtyUnits: number,
    quoteUnits: number,
    buyerFeeUnits: number,
    sellerFeeUnits: number,
    makerDone: boolean,
  ): void;
  /**
   * The order ended (filled, canceled, expired, rejected): release what it still holds.
   * `reportBoth`: report both of the user's balances of the pair (it traded), not only
   * the held asset.
   */
  endOrder(ref: number, reportBoth: boolean): void;
  /** The taker rests in the book; `reportBoth` as for endOrder. */
  restOrder(ref: number, reportBoth: boolean): void;
  /**
   * An amend was applied: the order's price and remaining quantity are now these; its
   * hold becomes exactly what that remainder needs (the extra frozen for it included).
   */
  amendApplied(
    ref: number,
    priceTicks: number,
    qtyUnits: number,
    remainingUnits: number,
    extraHoldUnits: number,
  ): void;
  /** The matcher refused an amend of `orderId`: release the extra frozen for it. */
  amendRejected(ref: number, orderId: number, extraHoldUnits: number): void;
}
