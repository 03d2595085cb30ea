/**
 * The API bench's child processes and how it talks to them: one JSON document per line,
 * the bench writing to the child's stdin and reading the child's stdout. The child side
 * ({@link stdinLines}, {@link writeLine}) and the parent side ({@link ChildProcess}) live
 * here together so that the protocol is in one place. A child ends when its stdin
 * closes; the parent kills it if it does not end in time.
 */

const encoder = new TextEncoder();

/** Lines of `stream` (UTF-8), without their newline. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n")) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  if (rest !== "") yield rest;
}

/** This process's stdin as JSON messages, one per line (a child's side). */
export async function* stdinLines(): AsyncGenerator<unknown> {
  for await (const line of lines(Deno.stdin.readable)) {
    if (line.trim() !== "") yield JSON.parse(line);
  }
}

/** Writes `msg` to stdout as one JSON line (a child's side). */
export function writeLine(msg: unknown): void {
  const bytes = encoder.encode(JSON.stringify(msg) + "\n");
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** How long `stop()` waits for a child to end after closing its stdin, then kills it. */
const STOP_GRACE_MS = 10_000;
/** Lines of a child's stderr kept for the report. */
const STDERR_LINES_KEPT = 20;

/**
 * A child Deno process running `script`, spoken to in JSON lines. Its stdout is read all
 * the time (a full pipe would stall the child): lines that are JSON objects queue up for
 * {@link next}, other lines (V8's `--trace-gc` output, say) go to `onLine`.
 */
export class ChildProcess {
  readonly pid: number;
  /** The last lines the child wrote to stderr. */
  readonly stderr: string[] = [];
  /** Called with each stdout line that is not a message. */
  onLine: (line: string) => void = () => {};
  private readonly child: Deno.ChildProcess;
  private readonly stdin: WritableStreamDefaultWriter<Uint8Array>;
  private readonly outputDone: Promise<void>;
  private readonly messages: unknown[] = [];
  private waiter: (() => void) | undefined;
  private stdoutEnded = false;
  private stdinClosed = false;

  /**
   * Starts `deno run -A [--v8-flags=...] <script> ...args` with piped stdio (and `env`
   * added). `lineBuffered` runs it under coreutils' `stdbuf -oL` so that what V8 itself
   * prints (C stdio, fully buffered on a pipe) comes out line by line, in time.
   */
  constructor(
    readonly name: string,
    script: string,
    opts: {
      args?: string[];
      env?: Record<string, string>;
      v8Flags?: string[];
      lineBuffered?: boolean;
    } = {},
  ) {
    const v8Flags = opts.v8Flags ?? [];
    const flags = v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : [];
    const deno = ["run", "-A", ...flags, script, ...(opts.args ?? [])];
    const child = new Deno.Command(opts.lineBuffered ? "stdbuf" : Deno.execPath(), {
      args: opts.lineBuffered ? ["-oL", Deno.execPath(), ...deno] : deno,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
    }).spawn();
    this.child = child;
    this.pid = child.pid;
    this.stdin = child.stdin.getWriter();
    const stdout = (async () => {
      for await (const line of lines(child.stdout)) {
        if (line.startsWith("{")) {
          this.messages.push(JSON.parse(line));
          this.wake();
        } else {
          this.onLine(line);
        }
      }
      this.stdoutEnded = true;
      this.wake();
    })();
    const stderr = (async () => {
      for await (const line of lines(child.stderr)) {
        this.stderr.push(line);
        if (this.stderr.length > STDERR_LINES_KEPT) this.stderr.shift();
      }
    })();
    this.outputDone = Promise.all([stdout, stderr]).then(() => {});
  }

  /** Sends one message. */
  async send(msg: unknown): Promise<void> {
    await this.stdin.write(encoder.encode(JSON.stringify(msg) + "\n"));
  }

  /**
   * The child's next message. Throws if the child ends first, or if none comes within
   * `timeoutMs`, with the child's last stderr lines.
   */
  async next<T>(timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.stdoutEnded) {
        await this.outputDone;
        throw this.failure("ended without answering");
      }
      const left = deadline - performance.now();
      if (left <= 0) throw this.failure(`sent nothing within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.waiter = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
    return this.messages.shift() as T;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Closes stdin: the child's cue to finish (it may still write its last answer). */
  async closeInput(): Promise<void> {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    await this.stdin.close().catch(() => {});
  }

  /** Closes stdin, waits for the child to end, kills it if it does not end in time. */
  async stop(): Promise<Deno.CommandStatus> {
    await this.closeInput();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), STOP_GRACE_MS));
    const ended = await Promise.race([this.child.status, late]);
    clearTimeout(timer);
    if (ended !== "late") return ended;
    this.kill();
    return await this.child.status;
  }

  /** Kills the child at once (SIGKILL); nothing if it already ended. */
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already ended
    }
  }

  private failure(what: string): Error {
    const tail = this.stderr.length > 0 ? `; its stderr ends with:\n${this.stderr.join("\n")}` : "";
    return new Error(`The ${this.name} process (pid ${this.pid}) ${what}${tail}`);
  }
}

/** CPU seconds (user + system, all threads) a process has used, from /proc; NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Linux's USER_HZ: 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;
