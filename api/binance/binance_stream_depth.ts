/**
 * The batch behind one diff depth stream (`<symbol>@depth[@100ms]`): the book's level
 * changes since the last event, merged by price (the last quantity wins), with the first
 * and last book update ids they cover. Consecutive batches cover consecutive update ids,
 * which is what Binance's local-order-book procedure checks (`U` = previous `u` + 1).
 */

import type { BookDelta } from "../../domain/events.ts";
import { fail } from "../../domain/assert.ts";
import type { SideChanges } from "./binance_stream_events.ts";

export class DepthBatch {
  bids: SideChanges = new Map();
  asks: SideChanges = new Map();
  firstId = 0;
  /** Last update id taken (0 before the first). */
  lastId = 0;
  #levels = 0;

  /** Distinct levels in the batch. */
  get size(): number {
    return this.#levels;
  }

  /**
   * Takes one level change. Throws (an InvariantError) when its update id does not follow
   * the previous one: a gap would make every client's book silently wrong, so the
   * connection is cut off instead and the client starts over.
   */
  add(d: BookDelta): void {
    if (this.lastId !== 0 && d.updateId !== this.lastId + 1) {
      fail(`depth updates of symbol ${d.symbolId} skip from ${this.lastId} to ${d.updateId}`);
    }
    if (this.#levels === 0) this.firstId = d.updateId;
    this.lastId = d.updateId;
    const side = d.side === "BUY" ? this.bids : this.asks;
    if (!side.has(d.priceTicks)) this.#levels++;
    side.set(d.priceTicks, d.qtyUnits);
  }

  /** Empties the batch; the next one continues after `lastId`. */
  clear(): void {
    this.bids = new Map();
    this.asks = new Map();
    this.#levels = 0;
  }
}
