/**
 * A stack of free record slots, kept apart from the records: taking a slot reads this
 * small, hot array instead of the freed record (often out of cache), and the most
 * recently freed slot, still warm, is reused first.
 */
export class FreeSlots {
  private stack = new Int32Array(1024);
  private top = 0;

  /** A free slot, or -1 if none. */
  pop(): number {
    return this.top === 0 ? -1 : this.stack[--this.top];
  }

  push(slot: number): void {
    if (this.top === this.stack.length) {
      const s = new Int32Array(this.stack.length * 2);
      s.set(this.stack);
      this.stack = s;
    }
    this.stack[this.top++] = slot;
  }

  /** The free slots, bottom of the stack first. */
  toArray(): number[] {
    return Array.from(this.stack.subarray(0, this.top));
  }
}
