/**
 * `GET /metrics` in the Prometheus text format: HTTP requests by route and status and
 * their durations; commands by type and outcome, rejections by code, and the time from
 * submit to answer; and, read from the exchange when scraped, the pipeline's sequence
 * points, mailbox depths, WAL batches and fsync times, stage restarts, and the push hub's
 * subscribers (WebSocket connections) and drops.
 */

import type { Exchange } from "../actors/exchange.ts";
import type { SubmitResult } from "../actors/pipeline_core.ts";
import { BucketHistogram, LATENCY_SECONDS_BOUNDS } from "../domain/bucket_histogram.ts";
import { RejectCode, type RejectReason } from "../domain/reject_codes.ts";

export class ApiMetrics {
  private readonly httpRequests = new Map<string, number>();
  private readonly httpSeconds = new BucketHistogram(LATENCY_SECONDS_BOUNDS);
  private readonly commands = new Map<string, number>();
  private readonly rejects = new Map<RejectReason, number>();
  private readonly answerSeconds = new BucketHistogram(LATENCY_SECONDS_BOUNDS);

  /** One HTTP request answered: its route pattern, status and duration. */
  request(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.httpRequests.set(key, (this.httpRequests.get(key) ?? 0) + 1);
    this.httpSeconds.observe(seconds);
  }

  /** One command answered by the exchange (`seconds` from submit to answer). */
  command(type: string, r: SubmitResult, seconds: number): void {
    let outcome: string = r.status;
    if (r.status === "done") {
      const rejected = r.events.find((e) => e.type === "rejected");
      if (rejected?.type === "rejected") {
        outcome = "rejected";
        this.rejects.set(rejected.reason, (this.rejects.get(rejected.reason) ?? 0) + 1);
      }
    }
    const key = `${type}\u0000${outcome}`;
    this.commands.set(key, (this.commands.get(key) ?? 0) + 1);
    this.answerSeconds.observe(seconds);
  }

  /** The exposition text. */
  render(exchange: Exchange): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    metric(
      "exchange_http_requests_total",
      "counter",
      "HTTP requests answered, by route and status.",
    );
    for (const [key, n] of this.httpRequests) {
      const [route, status] = key.split("\u0000");
      out.push(`exchange_http_requests_total{route="${esc(route)}",status="${status}"} ${n}`);
    }
    histogram(
      out,
      "exchange_http_request_duration_seconds",
      "HTTP request durations.",
      this.httpSeconds,
    );

    metric(
      "exchange_commands_total",
      "counter",
      "Commands submitted through the API, by type and outcome.",
    );
    for (const [key, n] of this.commands) {
      const [type, outcome] = key.split("\u0000");
      out.push(`exchange_commands_total{type="${type}",outcome="${outcome}"} ${n}`);
    }
    metric("exchange_rejects_total", "counter", "Commands rejected by the engine, by reason code.");
    for (const [reason, n] of this.rejects) {
      out.push(`exchange_rejects_total{code="${RejectCode[reason]}",reason="${reason}"} ${n}`);
    }
    histogram(
      out,
      "exchange_command_answer_seconds",
      "Time from submit to answer (durable and matched).",
      this.answerSeconds,
    );

    const s = exchange.stats();
    const gauge = (name: string, help: string, value: number) => {
      metric(name, "gauge", help);
      out.push(`${name} ${value}`);
    };
    gauge("exchange_last_seq", "Last command accepted into the WAL.", s.lastSeq);
    gauge("exchange_durable_seq", "Last command fsynced.", s.durableSeq);
    gauge("exchange_matched_seq", "Last command matched.", s.matchedSeq);
    gauge("exchange_settled_seq", "Last command settled.", s.settledSeq);
    gauge("exchange_persisted_seq", "Last command whose rows are in the store.", s.persistedSeq);
    gauge("exchange_in_flight_commands", "Commands accepted and not yet stored.", s.inFlight);
    if (s.acquiring !== undefined) {
      metric("exchange_mailbox_depth", "gauge", "Messages waiting in a stage's mailbox.");
      out.push(`exchange_mailbox_depth{actor="${s.acquiring.name}"} ${s.acquiring.depth}`);
      metric("exchange_mailbox_overload_total", "counter", "Messages refused by a full mailbox.");
      out.push(
        `exchange_mailbox_overload_total{actor="${s.acquiring.name}"} ${s.acquiring.rejectedOverload}`,
      );
      metric("exchange_mailbox_capacity", "gauge", "Bound of a stage's mailbox.");
      out.push(`exchange_mailbox_capacity{actor="${s.acquiring.name}"} ${s.acquiring.capacity}`);
    }
    metric("exchange_wal_batches_total", "counter", "Command WAL batches written and fsynced.");
    out.push(`exchange_wal_batches_total ${s.walBatches}`);
    histogram(
      out,
      "exchange_wal_fsync_seconds",
      "Command WAL fsync durations.",
      exchange.walFsyncSeconds,
    );

    metric("exchange_stage_restarts_total", "counter", "Restarts of each stage by the supervisor.");
    metric("exchange_stage_running", "gauge", "1 if the stage is running.");
    for (const c of exchange.health()) {
      out.push(`exchange_stage_restarts_total{stage="${c.name}"} ${c.restarts}`);
      out.push(`exchange_stage_running{stage="${c.name}"} ${c.state === "running" ? 1 : 0}`);
    }

    gauge(
      "exchange_push_subscribers",
      "Push subscribers: WebSocket connections (and in-process subscribers).",
      s.push.subscribers,
    );
    metric("exchange_push_cut_off_total", "counter", "Subscribers cut off for falling behind.");
    out.push(`exchange_push_cut_off_total ${s.push.cutOff}`);
    gauge("exchange_push_queued", "Entries queued for subscribers.", s.push.queued);
    metric("exchange_push_published_total", "counter", "Change-log entries published.");
    out.push(`exchange_push_published_total ${s.push.published}`);
    return out.join("\n") + "\n";
  }
}

function histogram(out: string[], name: string, help: string, h: BucketHistogram): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  const cum = h.cumulative();
  h.bounds.forEach((b, i) => out.push(`${name}_bucket{le="${b}"} ${cum[i]}`));
  out.push(`${name}_bucket{le="+Inf"} ${cum[cum.length - 1]}`);
  out.push(`${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
}

function esc(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
