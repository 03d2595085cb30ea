/**
 * A one-line progress bar for long replays, redrawn in place with a carriage return.
 * It writes to stderr and only when stderr is a terminal: piped or captured output never
 * sees it.
 */

const encoder = new TextEncoder();
const WIDTH = 30;

export class ProgressBar {
  private readonly t0 = performance.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly out: { writeSync(p: Uint8Array): number } = Deno.stderr,
  ) {}

  /** A bar on stderr if stderr is a terminal, else null. */
  static forStderr(label: string): ProgressBar | null {
    return Deno.stderr.isTerminal() ? new ProgressBar(label) : null;
  }

  /** Redraws the bar for `done` of `total`. */
  update(done: number, total: number): void {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * WIDTH);
    const seconds = (performance.now() - this.t0) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const line = `\r${this.label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ` +
      `${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ` +
      `${(rate / 1e6).toFixed(2)}M/s`;
    this.write(line);
    this.drawn = true;
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.write("\n");
    this.drawn = false;
  }

  private write(s: string): void {
    const bytes = encoder.encode(s);
    let off = 0;
    while (off < bytes.length) off += this.out.writeSync(bytes.subarray(off));
  }
}
