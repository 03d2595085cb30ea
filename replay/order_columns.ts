/**
 * The parsed rows of orders.csv in columns of typed arrays: a million rows cost a few
 * dozen megabytes and no garbage, and the run builds each command just before applying
 * it, so no million-object array ever reaches the old generation of the heap.
 */

/** Kind of a row: a buy place, a sell place, or a cancel. */
export const ROW_BUY = 0;
export const ROW_SELL = 1;
export const ROW_CANCEL = 2;

export class OrderColumns {
  length = 0;
  kind: Uint8Array;
  orderId: Float64Array;
  userId: Float64Array;
  /** Ticks; 0 for a cancel. */
  priceTicks: Float64Array;
  /** Base units; 0 for a cancel. */
  qtyUnits: Float64Array;

  constructor(capacity = 1 << 16) {
    this.kind = new Uint8Array(capacity);
    this.orderId = new Float64Array(capacity);
    this.userId = new Float64Array(capacity);
    this.priceTicks = new Float64Array(capacity);
    this.qtyUnits = new Float64Array(capacity);
  }

  push(kind: number, orderId: number, userId: number, priceTicks: number, qtyUnits: number): void {
    const i = this.length;
    if (i === this.kind.length) this.grow();
    this.kind[i] = kind;
    this.orderId[i] = orderId;
    this.userId[i] = userId;
    this.priceTicks[i] = priceTicks;
    this.qtyUnits[i] = qtyUnits;
    this.length = i + 1;
  }

  /** Number of rows of `kind`. */
  count(kind: number): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.kind[i] === kind) n++;
    return n;
  }

  private grow(): void {
    const cap = this.kind.length * 2;
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    this.kind = kind;
    this.orderId = growF64(this.orderId, cap);
    this.userId = growF64(this.userId, cap);
    this.priceTicks = growF64(this.priceTicks, cap);
    this.qtyUnits = growF64(this.qtyUnits, cap);
  }
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
