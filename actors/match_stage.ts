/**
 * The Match stage: runs durable commands through the matcher in sequence order, answers
 * each client (its WAL batch is durable and its match result is now known), and hands the
 * result on: the settlement calls and events to Settlement (kept in the journal until
 * persisted), trades to KLine, changes to Push.
 */

import { EventBuffer } from "../domain/event_buffer.ts";
import { SettlementRecorder } from "../domain/settlement_log.ts";
import { Actor } from "./actor.ts";
import {
  DoneResult,
  type MatchedCommand,
  MAX_IN_FLIGHT_COMMANDS,
  type PipelineCore,
} from "./pipeline_core.ts";
import type { ChildContext, SupervisedChild } from "./supervisor.ts";

/** Commands matched per turn of the actor before it yields to others. */
export const MATCH_BATCH = 4_096;

/** Doubles of events (and of settlement records) written into one buffer before a new one. */
const MATCH_BUFFER_DOUBLES = 1 << 18;

type Tick = { tick: true };

export class MatchStage implements SupervisedChild {
  private readonly actor: Actor<Tick>;
  private ticking = false;
  private buf = new EventBuffer(MATCH_BUFFER_DOUBLES);
  private recorder = new SettlementRecorder();

  constructor(private readonly core: PipelineCore, ctx: ChildContext) {
    this.actor = new Actor<Tick>({
      name: ctx.name,
      capacity: 2,
      handle: () => this.drain(),
      onCrash: ctx.onCrash,
      logger: core.logger,
    });
  }

  start(): void {
    this.actor.start();
    this.core.wake.match = () => this.poke();
    this.poke(); // work left by a crashed predecessor
  }

  stop(): Promise<void> {
    return this.actor.stop();
  }

  private poke(): void {
    if (this.ticking) return;
    if (this.actor.send({ tick: true }).ok) this.ticking = true;
  }

  private drain(): void {
    this.ticking = false;
    const core = this.core;
    const matcher = core.matcher;
    // The commands matched keep ranges of these buffers, so they are only ever appended
    // to, and replaced (not reset) once large. A fresh pair per turn was most of the
    // garbage at low load, when a turn matches a handful of commands.
    if (this.buf.length > MATCH_BUFFER_DOUBLES) this.buf = new EventBuffer(MATCH_BUFFER_DOUBLES);
    if (this.recorder.length > MATCH_BUFFER_DOUBLES) this.recorder = new SettlementRecorder();
    const buf = this.buf;
    const recorder = this.recorder;
    matcher.out = buf;
    let n = 0;
    while (n < MATCH_BATCH && core.journal.length < MAX_IN_FLIGHT_COMMANDS) {
      const a = core.toMatch.peek();
      if (a === undefined) break;
      core.fault("match:before");
      const from = buf.length;
      const settleFrom = recorder.length;
      matcher.seq = a.seq;
      if (a.place !== undefined) matcher.place(a.place, recorder);
      else if (a.cancel !== undefined) matcher.cancel(a.cancel, recorder);
      else if (a.amend !== undefined) matcher.amend(a.amend, recorder);
      core.toMatch.shift();
      const match = { buf, from, to: buf.length };
      const matched: MatchedCommand = {
        seq: a.seq,
        tsMs: a.tsMs,
        acq: a.acq,
        match,
        settle: recorder.view(settleFrom, recorder.length),
      };
      core.matchedSeq = a.seq;
      core.journal.push(matched);
      core.toKline.push(matched);
      core.publish(a.tsMs, a.acq);
      core.publish(a.tsMs, match);
      a.reply?.(new DoneResult([a.acq, match]));
      n++;
    }
    if (n > 0) {
      core.wake.settlement();
      core.wake.kline();
      core.wake.push();
    }
    if (core.toMatch.length > 0 && core.journal.length < MAX_IN_FLIGHT_COMMANDS) this.poke();
    core.progressed();
  }
}
