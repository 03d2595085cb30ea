/**
 * WAL benchmark: appends 1,000,000 records of 64 bytes with group commit (one write and
 * one fsync per batch), then reads them all back as recovery would.
 *
 *   deno run --allow-read --allow-write bench/wal_bench.ts [records] [dir]
 *
 * Prints, for two ways of waiting for durability (one listener per writer, and one
 * promise per record): records/s, fsyncs and mean batch size; the time to read every
 * record back; and first, the append-to-durable latency of records offered at a steady
 * 50,000/s and 300,000/s (run first: the promise-per-record run leaves garbage whose
 * collection shows up as tens of milliseconds in a latency run that follows it).
 */

import { readWal } from "../persistence/wal_reader.ts";
import { APPEND_OVERLOADED, WalWriter } from "../persistence/wal_writer.ts";

const DEFAULT_RECORDS = 1_000_000;
const PAYLOAD_BYTES = 64;
/** Offered rates for the latency runs: the latency target, then its throughput target. */
const PACED_RATES_PER_S = [50_000, 300_000];
const PACED_SECONDS = 2;
const PACE_TICK_MS = 1;

const records = Number(Deno.args[0] ?? DEFAULT_RECORDS);
const root = Deno.args[1] ?? await Deno.makeTempDir({ prefix: "wal_bench_" });

function payload(seq: number, out: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i++) out[i] = (seq + i * 7) & 0xff;
  return out;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** A writer plus a promise that resolves at the next durability advance. */
async function openWriter(dir: string) {
  const w = await WalWriter.open({ dir, nextSeq: 1 });
  let wake: (() => void) | null = null;
  w.listen({
    durable: () => {
      wake?.();
      wake = null;
    },
    failed: (e) => {
      throw e;
    },
  });
  const progress = () => new Promise<void>((r) => (wake = r));
  return { w, progress };
}

/** Appends `records` as fast as the writer takes them; waits on overload. */
async function runListener(dir: string): Promise<number> {
  const { w, progress } = await openWriter(dir);
  const buf = new Uint8Array(PAYLOAD_BYTES);
  const t0 = performance.now();
  for (let s = 1; s <= records;) {
    const r = w.append(payload(s, buf));
    if (r === APPEND_OVERLOADED) await progress();
    else s++;
  }
  await w.flush();
  const ms = performance.now() - t0;
  report("listener", w, ms);
  await w.close();
  return ms;
}

/** Same, but every record gets its own waitDurable promise, all awaited. */
async function runPromisePerRecord(dir: string): Promise<void> {
  const { w, progress } = await openWriter(dir);
  const buf = new Uint8Array(PAYLOAD_BYTES);
  let acked = 0;
  const onAck = () => void acked++;
  const t0 = performance.now();
  for (let s = 1; s <= records;) {
    const r = w.append(payload(s, buf));
    if (r === APPEND_OVERLOADED) {
      await progress();
      continue;
    }
    w.waitDurable(r).then(onAck);
    s++;
  }
  await w.flush();
  await new Promise((r) => setTimeout(r, 0));
  const ms = performance.now() - t0;
  if (acked !== records) throw new Error(`expected ${records} acks, received ${acked}`);
  report("promise per record", w, ms);
  await w.close();
}

function report(label: string, w: WalWriter, ms: number): void {
  console.log(
    `append ${label.padEnd(18)} ${fmt(records)} records in ${ms.toFixed(0)} ms: ` +
      `${fmt(records / (ms / 1000))} records/s, ${fmt(w.batches)} fsyncs, ` +
      `${fmt(records / w.batches)} records/batch`,
  );
}

/** Offers records at a steady rate and measures append-to-durable latency. */
async function runPaced(dir: string, rate: number): Promise<void> {
  const { w } = await openWriter(dir);
  const n = rate * PACED_SECONDS;
  const appendedAt = new Float64Array(n + 1);
  const latencyMs: number[] = [];
  let acked = 0;
  w.listen({
    durable: (d) => {
      const now = performance.now();
      for (; acked < d; acked++) latencyMs.push(now - appendedAt[acked + 1]);
    },
    failed: (e) => {
      throw e;
    },
  });
  const buf = new Uint8Array(PAYLOAD_BYTES);
  const t0 = performance.now();
  let s = 1;
  while (s <= n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; s <= due; s++) {
      appendedAt[s] = performance.now();
      if (w.append(payload(s, buf)) !== s) throw new Error(`append ${s} refused at ${rate}/s`);
    }
    await new Promise((r) => setTimeout(r, PACE_TICK_MS));
  }
  await w.flush();
  latencyMs.sort((a, b) => a - b);
  const q = (p: number) =>
    latencyMs[Math.min(latencyMs.length - 1, Math.floor(p * latencyMs.length))].toFixed(2);
  console.log(
    `ack latency at ${fmt(rate)}/s over ${fmt(n)} records: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, ` +
      `max ${q(1)} ms, ${fmt(w.batches)} fsyncs`,
  );
  await w.close();
}

async function runRead(dir: string): Promise<void> {
  let count = 0;
  let check = 0;
  const t0 = performance.now();
  const r = await readWal(dir, {
    afterSeq: 0,
    onRecord: (_seq, p) => {
      count++;
      check ^= p[0];
    },
  });
  const ms = performance.now() - t0;
  console.log(
    `read back ${fmt(count)} records (${r.segmentsRead} segments) in ${ms.toFixed(0)} ms: ` +
      `${fmt(count / (ms / 1000))} records/s (check ${check})`,
  );
}

try {
  console.log(`WAL bench in ${root}: ${fmt(records)} records of ${PAYLOAD_BYTES} bytes`);
  for (const rate of PACED_RATES_PER_S) await runPaced(`${root}/paced-${rate}`, rate);
  await runListener(`${root}/listener`);
  await runRead(`${root}/listener`);
  await runPromisePerRecord(`${root}/promises`);
} finally {
  if (Deno.args[1] === undefined) await Deno.remove(root, { recursive: true });
}
