/**
 * The API bench's WebSocket subscribers, run as their own process: reads one
 * {@link WsJob} (a JSON line) on stdin, opens `clients` WebSockets to the server,
 * subscribes each to `topics`, and writes `{"ready":true}` once every client has its
 * acknowledgement. From then it counts the pushes every client receives, in 100 ms
 * buckets of wall-clock time, until stdin closes; then it waits until no message has
 * arrived for a moment and writes one {@link WsResult} line.
 */

import { stdinLines, writeLine } from "./child_process.ts";

export interface WsJob {
  url: string;
  clients: number;
  topics: string[];
}

export interface WsResult {
  /** Start of bucket 0 (epoch ms); bucket i counts messages received in [i, i+1) × 100 ms. */
  epochMs: number;
  bucketMs: number;
  buckets: number[];
  /** Pushes received by each client after its acknowledgement. */
  perClient: number[];
  /** Error messages from the server (`"op":"error"`) and closes before the end. */
  errors: number;
  closes: number;
  errorSamples: string[];
}

export const BUCKET_MS = 100;
/** Most buckets kept (10 minutes): the count stops growing past it. */
const MAX_BUCKETS = 6_000;
/** The subscribers are done when no message has arrived for this long after stdin closes. */
const QUIET_MS = 500;
const CONNECT_TIMEOUT_MS = 10_000;

async function run(job: WsJob, stopped: Promise<void>): Promise<WsResult> {
  const epochMs = Date.now();
  const buckets = new Float64Array(MAX_BUCKETS);
  const perClient = new Array<number>(job.clients).fill(0);
  const errorSamples: string[] = [];
  let errors = 0;
  let closes = 0;
  let ending = false;
  let lastMessageMs = Date.now();
  const sockets: WebSocket[] = [];
  const acks: Promise<void>[] = [];
  for (let i = 0; i < job.clients; i++) {
    const ws = new WebSocket(job.url);
    sockets.push(ws);
    let subscribed = false;
    acks.push(
      new Promise<void>((resolve, reject) => {
        ws.onopen = () => ws.send(JSON.stringify({ op: "subscribe", args: job.topics }));
        ws.onmessage = (e) => {
          const text = e.data as string;
          const now = Date.now();
          lastMessageMs = now;
          if (text.startsWith('{"op":')) {
            if (text.startsWith('{"op":"subscribe","ok":true')) {
              subscribed = true;
              resolve();
            } else if (text.startsWith('{"op":"error"')) {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
              reject(new Error(`client ${i}: ${text.slice(0, 200)}`));
            }
            return;
          }
          if (!subscribed) return;
          perClient[i]++;
          const b = Math.floor((now - epochMs) / BUCKET_MS);
          if (b < MAX_BUCKETS) buckets[b]++;
        };
        ws.onclose = (e) => {
          if (ending) return;
          closes++;
          if (errorSamples.length < 5) {
            errorSamples.push(`client ${i} closed: ${e.code} ${e.reason}`);
          }
          reject(new Error(`client ${i} closed: ${e.code} ${e.reason}`));
        };
      }),
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(acks),
    new Promise((_, reject) =>
      timer = setTimeout(
        () => reject(new Error(`not all clients subscribed within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      )
    ),
  ]);
  clearTimeout(timer);
  writeLine({ ready: true });
  await stopped;
  while (Date.now() - lastMessageMs < QUIET_MS) {
    await new Promise((r) => setTimeout(r, QUIET_MS / 5));
  }
  ending = true;
  for (const ws of sockets) ws.close();
  let last = MAX_BUCKETS;
  while (last > 0 && buckets[last - 1] === 0) last--;
  return {
    epochMs,
    bucketMs: BUCKET_MS,
    buckets: [...buckets.subarray(0, last)],
    perClient,
    errors,
    closes,
    errorSamples,
  };
}

if (import.meta.main) {
  const input = stdinLines();
  const first = await input.next();
  if (first.done) Deno.exit(0);
  // Stdin closing (the bench's cue) ends the count.
  const stopped = (async () => {
    for await (const _ of input) { /* no further commands */ }
  })();
  try {
    writeLine(await run(first.value as WsJob, stopped));
  } catch (e) {
    writeLine({ error: e instanceof Error ? e.message : String(e) });
  }
  Deno.exit(0);
}
