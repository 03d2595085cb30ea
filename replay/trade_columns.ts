/**
 * Trades of a replay run kept in typed-array columns, copied straight out of the engine's
 * binary event records: no object per trade stays alive until the output is written.
 */

/**
 * Offsets of a TRADE record in the engine's binary event buffer (domain/event_buffer.ts):
 * type tradeId symbolId price qty quote takerSide makerOrder takerOrder makerUser
 * takerUser buyerFee sellerFee.
 */
const T_ID = 1;
const T_PRICE = 3;
const T_QTY = 4;
const T_QUOTE = 5;
const T_TAKER_SELL = 6;
const T_MAKER_ORDER = 7;
const T_TAKER_ORDER = 8;
const T_MAKER_USER = 9;
const T_TAKER_USER = 10;
const T_BUYER_FEE = 11;
const T_SELLER_FEE = 12;

export class TradeColumns {
  length = 0;
  tradeId: Float64Array;
  priceTicks: Float64Array;
  qtyUnits: Float64Array;
  quoteUnits: Float64Array;
  /** 0: the taker bought, 1: the taker sold. */
  takerSell: Uint8Array;
  makerOrderId: Float64Array;
  takerOrderId: Float64Array;
  makerUserId: Float64Array;
  takerUserId: Float64Array;
  buyerFeeUnits: Float64Array;
  sellerFeeUnits: Float64Array;

  constructor(capacity = 1 << 14) {
    this.tradeId = new Float64Array(capacity);
    this.priceTicks = new Float64Array(capacity);
    this.qtyUnits = new Float64Array(capacity);
    this.quoteUnits = new Float64Array(capacity);
    this.takerSell = new Uint8Array(capacity);
    this.makerOrderId = new Float64Array(capacity);
    this.takerOrderId = new Float64Array(capacity);
    this.makerUserId = new Float64Array(capacity);
    this.takerUserId = new Float64Array(capacity);
    this.buyerFeeUnits = new Float64Array(capacity);
    this.sellerFeeUnits = new Float64Array(capacity);
  }

  /** Appends the TRADE record at offset `at` of an engine event buffer's doubles. */
  pushRecord(f: Float64Array, at: number): void {
    const i = this.length;
    if (i === this.tradeId.length) this.grow();
    this.tradeId[i] = f[at + T_ID];
    this.priceTicks[i] = f[at + T_PRICE];
    this.qtyUnits[i] = f[at + T_QTY];
    this.quoteUnits[i] = f[at + T_QUOTE];
    this.takerSell[i] = f[at + T_TAKER_SELL];
    this.makerOrderId[i] = f[at + T_MAKER_ORDER];
    this.takerOrderId[i] = f[at + T_TAKER_ORDER];
    this.makerUserId[i] = f[at + T_MAKER_USER];
    this.takerUserId[i] = f[at + T_TAKER_USER];
    this.buyerFeeUnits[i] = f[at + T_BUYER_FEE];
    this.sellerFeeUnits[i] = f[at + T_SELLER_FEE];
    this.length = i + 1;
  }

  private grow(): void {
    const cap = this.tradeId.length * 2;
    this.tradeId = grow(this.tradeId, cap);
    this.priceTicks = grow(this.priceTicks, cap);
    this.qtyUnits = grow(this.qtyUnits, cap);
    this.quoteUnits = grow(this.quoteUnits, cap);
    const takerSell = new Uint8Array(cap);
    takerSell.set(this.takerSell);
    this.takerSell = takerSell;
    this.makerOrderId = grow(this.makerOrderId, cap);
    this.takerOrderId = grow(this.takerOrderId, cap);
    this.makerUserId = grow(this.makerUserId, cap);
    this.takerUserId = grow(this.takerUserId, cap);
    this.buyerFeeUnits = grow(this.buyerFeeUnits, cap);
    this.sellerFeeUnits = grow(this.sellerFeeUnits, cap);
  }
}

function grow(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
