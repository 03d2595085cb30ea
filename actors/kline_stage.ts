/**
 * The KLine stage: counts every trade once into the candles of the 16 standard
 * intervals (the aggregator ignores re-delivered trade ids), closes candles whose period
 * ended with no trade, writes candles to the store as a side channel and publishes them.
 * It only reads events: it may lag or restart without touching money.
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";
import { EV_TRADE, EventBuffer } from "../domain/event_buffer.ts";
import { type Candle, candleKey, candleRow } from "../domain/kline.ts";
import { Actor } from "./actor.ts";
import type { TimerHandle } from "./clock.ts";
import type { PipelineCore } from "./pipeline_core.ts";
import type { ChildContext, SupervisedChild } from "./supervisor.ts";

/** How often candles whose period ended are closed without a trade. */
export const KLINE_ADVANCE_EVERY_MS = 1_000;
/** Trades may arrive this late after their time; periods close only after it. */
export const KLINE_GRACE_MS = 2_000;
/**
 * Least time between two candle writes to the store. Candles in progress change with
 * every turn; writing them each turn meant a store transaction per WAL batch (about
 * a thousand a second at low load) for rows that a moment later change again.
 */
export const KLINE_WRITE_INTERVAL_MS = 250;

type Msg = { tick: true } | { advance: true };

export class KlineStage implements SupervisedChild {
  private readonly actor: Actor<Msg>;
  private ticking = false;
  private dead = false;
  private timer: TimerHandle | null = null;
  private writing = false;
  /** Set while a write started less than KLINE_WRITE_INTERVAL_MS ago. */
  private cooling: TimerHandle | null = null;

  constructor(private readonly core: PipelineCore, ctx: ChildContext) {
    this.actor = new Actor<Msg>({
      name: ctx.name,
      capacity: 4,
      handle: (m) => ("tick" in m ? this.drain() : this.advance()),
      onCrash: (e) => {
        this.dead = true;
        ctx.onCrash(e);
      },
      logger: core.logger,
    });
  }

  start(): void {
    this.actor.start();
    this.core.wake.kline = () => this.poke();
    this.poke();
    this.schedule();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) this.core.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.cooling !== null) this.core.clock.clearTimeout(this.cooling);
    this.cooling = null;
    await this.actor.stop();
    this.dead = true;
  }

  private schedule(): void {
    this.timer = this.core.clock.setTimeout(() => {
      if (this.dead) return;
      this.actor.send({ advance: true });
      this.schedule();
    }, KLINE_ADVANCE_EVERY_MS);
  }

  private poke(): void {
    if (this.ticking || this.dead) return;
    if (this.actor.send({ tick: true }).ok) this.ticking = true;
  }

  private drain(): void {
    this.ticking = false;
    const core = this.core;
    // Candles in progress change with every trade: read each symbol's once, at the end.
    const touched = new Set<number>();
    let lastMs = 0;
    for (let m = core.toKline.peek(); m !== undefined; m = core.toKline.peek()) {
      core.fault("kline:before");
      const { buf, from, to } = m.match;
      const f = buf.f;
      for (let at = from; at < to; at += EventBuffer.recordLength(f[at])) {
        if (f[at] !== EV_TRADE) continue;
        const r = core.kline.apply({
          tradeId: f[at + 1],
          symbolId: f[at + 2],
          priceTicks: f[at + 3],
          qtyUnits: f[at + 4],
          quoteUnits: f[at + 5],
          takerSide: f[at + 6] === 1 ? "SELL" : "BUY",
          tsMs: m.tsMs,
        }, false);
        if (r.duplicate) continue;
        for (const c of r.closed) this.changed(c, m.tsMs);
        touched.add(f[at + 2]);
        lastMs = m.tsMs;
      }
      core.toKline.shift();
    }
    for (const symbolId of touched) {
      for (const c of core.kline.currentAll(symbolId)) this.changed(c, lastMs);
    }
    this.flush();
    core.wake.push();
    core.progressed();
  }

  private advance(): void {
    const now = this.core.clock.now();
    for (const c of this.core.kline.advance(now - KLINE_GRACE_MS)) this.changed(c, now);
    this.flush();
    this.core.wake.push();
  }

  private changed(c: Candle, tsMs: number): void {
    const row = candleRow(c);
    const key = candleKey(c);
    this.core.klineUnwritten.set(key, row);
    const entry: ChangeLogEntry<unknown> = {
      seq: 0,
      ts: tsMs,
      type: "candle",
      entity: "candle",
      id: key,
      payload: row,
    };
    this.core.publishCandle(entry);
  }

  private flush(): void {
    const unwritten = this.core.klineUnwritten;
    if (this.writing || this.cooling !== null || unwritten.size === 0 || this.dead) return;
    const written = [...unwritten.entries()];
    const candles = written.map(([, c]) => c);
    this.writing = true;
    this.cooling = this.core.clock.setTimeout(() => {
      this.cooling = null;
      if (!this.dead) this.flush();
    }, KLINE_WRITE_INTERVAL_MS);
    this.core.store.write({ orders: [], trades: [], balances: [], candles }).then(
      () => {
        this.writing = false;
        // Rows written are dropped unless they changed again meanwhile.
        for (const [key, c] of written) if (unwritten.get(key) === c) unwritten.delete(key);
        this.flush();
        this.core.progressed();
      },
      (e) => {
        if (!this.dead) this.actor.crash(e);
      },
    );
  }
}
