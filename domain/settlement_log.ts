/**
 * Settlement calls recorded by the matcher's stage and replayed on the settlement stage:
 * a {@link SettlementSink} that writes each call as a record into a Float64Array, and
 * {@link replaySettlement} that makes the same calls, in the same order, on the account
 * shard. In one thread the engine skips this and passes the shard itself as the sink.
 */

import { fail } from "./assert.ts";
import type { SettlementSink } from "./match_input.ts";

const FILL = 1;
const END = 2;
const REST = 3;
const AMEND_APPLIED = 4;
const AMEND_REJECTED = 5;

const LENGTH = [0, 11, 3, 3, 6, 4];

export class SettlementRecorder implements SettlementSink {
  private f = new Float64Array(256);
  /** Doubles in use. */
  length = 0;

  /** Empties the log (keeps its memory). */
  reset(): void {
    this.length = 0;
  }

  /** A copy of the records, to hand to another stage. */
  take(): Float64Array {
    return this.f.slice(0, this.length);
  }

  /**
   * Records [from, to) without copying. Valid for good if the recorder is not reset:
   * growing moves later records to a new array and leaves this one as it is.
   */
  view(from: number, to: number): Float64Array {
    return this.f.subarray(from, to);
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.f.length) {
      const g = new Float64Array(Math.max(this.f.length * 2, at + n));
      g.set(this.f.subarray(0, at));
      this.f = g;
    }
    this.length = at + n;
    return at;
  }

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
  ): void {
    const at = this.reserve(11);
    const f = this.f;
    f[at] = FILL;
    f[at + 1] = symbolId;
    f[at + 2] = makerRef;
    f[at + 3] = takerRef;
    f[at + 4] = takerIsSell ? 1 : 0;
    f[at + 5] = priceTicks;
    f[at + 6] = qtyUnits;
    f[at + 7] = quoteUnits;
    f[at + 8] = buyerFeeUnits;
    f[at + 9] = sellerFeeUnits;
    f[at + 10] = makerDone ? 1 : 0;
  }

  endOrder(ref: number, reportBoth: boolean): void {
    const at = this.reserve(3);
    this.f[at] = END;
    this.f[at + 1] = ref;
    this.f[at + 2] = reportBoth ? 1 : 0;
  }

  restOrder(ref: number, reportBoth: boolean): void {
    const at = this.reserve(3);
    this.f[at] = REST;
    this.f[at + 1] = ref;
    this.f[at + 2] = reportBoth ? 1 : 0;
  }

  amendApplied(
    ref: number,
    priceTicks: number,
    qtyUnits: number,
    remainingUnits: number,
    extraHoldUnits: number,
  ): void {
    const at = this.reserve(6);
    const f = this.f;
    f[at] = AMEND_APPLIED;
    f[at + 1] = ref;
    f[at + 2] = priceTicks;
    f[at + 3] = qtyUnits;
    f[at + 4] = remainingUnits;
    f[at + 5] = extraHoldUnits;
  }

  amendRejected(ref: number, orderId: number, extraHoldUnits: number): void {
    const at = this.reserve(4);
    const f = this.f;
    f[at] = AMEND_REJECTED;
    f[at + 1] = ref;
    f[at + 2] = orderId;
    f[at + 3] = extraHoldUnits;
  }
}

/** Makes the recorded calls on `sink`, in order. Throws on a corrupt log. */
export function replaySettlement(records: Float64Array, sink: SettlementSink): void {
  const f = records;
  for (let at = 0; at < f.length;) {
    const type = f[at];
    switch (type) {
      case FILL:
        sink.settleFill(
          f[at + 1],
          f[at + 2],
          f[at + 3],
          f[at + 4] === 1,
          f[at + 5],
          f[at + 6],
          f[at + 7],
          f[at + 8],
          f[at + 9],
          f[at + 10] === 1,
        );
        break;
      case END:
        sink.endOrder(f[at + 1], f[at + 2] === 1);
        break;
      case REST:
        sink.restOrder(f[at + 1], f[at + 2] === 1);
        break;
      case AMEND_APPLIED:
        sink.amendApplied(f[at + 1], f[at + 2], f[at + 3], f[at + 4], f[at + 5]);
        break;
      case AMEND_REJECTED:
        sink.amendRejected(f[at + 1], f[at + 2], f[at + 3]);
        break;
      default:
        fail(`corrupt settlement log: record type ${type} at ${at}`);
    }
    at += LENGTH[type];
  }
}
