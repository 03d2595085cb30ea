/**
 * Index from order id to slot, for ids that mostly increase (the engine hands them out
 * in order, and explicit ids must be new).
 *
 * Ids live in pages of PAGE_SIZE consecutive ids, each a plain Int32Array found by
 * direct indexing, so recording a new order touches memory right next to the previous
 * one instead of a random hash bucket, and a lookup is two array reads. A page whose
 * orders have nearly all closed is compacted: its few survivors move to an
 * {@link IdMap} and the page is dropped, so memory follows the open orders, not every id
 * ever issued. Ids beyond DIRECT_PAGES pages (2^32 and up) go to the IdMap directly.
 */

import { IdMap } from "./id_map.ts";

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
/** Pages addressed directly: ids below 2^32. */
const DIRECT_PAGES = 1 << (32 - PAGE_BITS);
/** A page that is not the newest and holds fewer live ids than this is compacted. */
const COMPACT_BELOW = 64;
const NONE = -1;

export class IdIndex {
  /** Page of each page number (holes where no page exists). */
  private readonly pages: (Int32Array | undefined)[] = [];
  /** Live ids per page number. */
  private readonly live: number[] = [];
  private readonly spill = new IdMap();
  private newestPage = -1;
  private count = 0;

  /** Number of ids indexed. */
  get size(): number {
    return this.count;
  }

  /** The slot of `id`, or -1. */
  get(id: number): number {
    const no = Math.floor(id / PAGE_SIZE);
    const page = no < DIRECT_PAGES ? this.pages[no] : undefined;
    if (page !== undefined) return page[id - no * PAGE_SIZE];
    return this.spill.get(id);
  }

  /** Records `id` → `slot` (a non-negative int32); `id` must not be indexed already. */
  set(id: number, slot: number): void {
    const no = Math.floor(id / PAGE_SIZE);
    if (no >= DIRECT_PAGES) {
      this.spill.set(id, slot);
      this.count++;
      return;
    }
    let page = this.pages[no];
    if (page === undefined) {
      if (no < this.newestPage) {
        // An old id whose page was compacted away: keep it with the other survivors.
        this.spill.set(id, slot);
        this.count++;
        return;
      }
      page = new Int32Array(PAGE_SIZE).fill(NONE);
      while (this.pages.length < no) {
        this.pages.push(undefined);
        this.live.push(0);
      }
      this.pages[no] = page;
      this.live[no] = 0;
      this.newestPage = no;
    }
    page[id - no * PAGE_SIZE] = slot;
    this.live[no]++;
    this.count++;
  }

  /** Removes `id`; returns true if it was indexed. */
  delete(id: number): boolean {
    const no = Math.floor(id / PAGE_SIZE);
    const page = no < DIRECT_PAGES ? this.pages[no] : undefined;
    if (page === undefined) {
      if (!this.spill.delete(id)) return false;
      this.count--;
      return true;
    }
    const off = id - no * PAGE_SIZE;
    if (page[off] === NONE) return false;
    page[off] = NONE;
    this.count--;
    const left = --this.live[no];
    if (no !== this.newestPage && left < COMPACT_BELOW) this.compact(no, page);
    return true;
  }

  private compact(no: number, page: Int32Array): void {
    const base = no * PAGE_SIZE;
    for (let i = 0; i < PAGE_SIZE; i++) {
      if (page[i] !== NONE) this.spill.set(base + i, page[i]);
    }
    this.pages[no] = undefined;
    this.live[no] = 0;
  }

  /** Every [id, slot] pair (pages in order, then the spilled ids). */
  *entries(): Generator<[number, number]> {
    for (let no = 0; no < this.pages.length; no++) {
      const page = this.pages[no];
      if (page === undefined) continue;
      for (let i = 0; i < PAGE_SIZE; i++) {
        if (page[i] !== NONE) yield [no * PAGE_SIZE + i, page[i]];
      }
    }
    yield* this.spill.entries();
  }
}
