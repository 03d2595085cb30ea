/**
 * Counts balance changes per user and asset during a replay: the `version` column of
 * balances_final.csv. Dense array indexing when user ids are small (the common case),
 * a map of per-user arrays otherwise.
 */

/** Largest dense table, in counters (128 MB of Float64). */
const MAX_DENSE = 1 << 24;

export class BalanceVersions {
  private readonly dense: Float64Array | null;
  private readonly sparse = new Map<number, Float64Array>();

  /** `maxUserId`: the largest user id expected; `assetSlots`: asset ids are below it. */
  constructor(maxUserId: number, readonly assetSlots: number) {
    const size = (maxUserId + 1) * assetSlots;
    this.dense = size <= MAX_DENSE ? new Float64Array(Math.max(size, 0)) : null;
  }

  /** Counts one change of `userId`'s balance of `assetId`. */
  bump(userId: number, assetId: number): void {
    const i = userId * this.assetSlots + assetId;
    const d = this.dense;
    if (d !== null && i < d.length) {
      d[i]++;
      return;
    }
    let row = this.sparse.get(userId);
    if (row === undefined) this.sparse.set(userId, row = new Float64Array(this.assetSlots));
    row[assetId]++;
  }

  /** Changes counted for `userId` and `assetId`. */
  get(userId: number, assetId: number): number {
    const i = userId * this.assetSlots + assetId;
    const d = this.dense;
    if (d !== null && i < d.length) return d[i];
    return this.sparse.get(userId)?.[assetId] ?? 0;
  }
}
