/**
 * How late a 1 ms interval timer fires in this process: a measure of how long the event
 * loop is kept busy in one go (a long GC pause, a long synchronous handler). Runs a timer
 * 1,000 times a second while it is on, which costs a little CPU.
 */

/** Lateness of the timer, in milliseconds. */
export interface LoopLag {
  ticks: number;
  msP50: number;
  msP99: number;
  msP999: number;
  msMax: number;
  /** Ticks later than 5 ms and 20 ms, and the time lost in them. */
  over5Ms: number;
  over20Ms: number;
  msLostOver5: number;
}

const TICK_MS = 1;
/** Most ticks kept (10 minutes); later ones are counted in max and over-counts only. */
const MAX_TICKS = 600_000;

export class LoopLagMonitor {
  private readonly lateMs = new Float64Array(MAX_TICKS);
  private ticks = 0;
  private max = 0;
  private over5 = 0;
  private over20 = 0;
  private lost = 0;
  private last = performance.now();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.last - TICK_MS);
    this.last = now;
    if (this.ticks < MAX_TICKS) this.lateMs[this.ticks] = late;
    this.ticks++;
    if (late > this.max) this.max = late;
    if (late > 5) {
      this.over5++;
      this.lost += late;
    }
    if (late > 20) this.over20++;
  }

  /** Stops the timer and returns the lateness percentiles. */
  stop(): LoopLag {
    clearInterval(this.timer);
    const n = Math.min(this.ticks, MAX_TICKS);
    const sorted = this.lateMs.slice(0, n).sort();
    const at = (p: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
    return {
      ticks: this.ticks,
      msP50: at(0.5),
      msP99: at(0.99),
      msP999: at(0.999),
      msMax: this.max,
      over5Ms: this.over5,
      over20Ms: this.over20,
      msLostOver5: this.lost,
    };
  }
}
