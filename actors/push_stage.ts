/**
 * The Push stage: fans every change-log entry out to subscribers through the push hub,
 * where each subscriber has a bounded queue and one that falls behind is cut off with a
 * reason. It never slows the pipeline: publishing to the hub does not wait.
 */

import { Actor } from "./actor.ts";
import type { PipelineCore } from "./pipeline_core.ts";
import type { ChildContext, SupervisedChild } from "./supervisor.ts";

/** Entries published per turn before the actor yields. */
export const PUSH_BATCH = 16_384;

type Tick = { tick: true };

export class PushStage implements SupervisedChild {
  private readonly actor: Actor<Tick>;
  private ticking = false;

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
    this.core.wake.push = () => this.poke();
    this.poke();
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
    for (let n = 0; n < PUSH_BATCH; n++) {
      const e = core.toPush.shift();
      if (e === undefined) break;
      core.hub.publish(e);
    }
    if (core.toPush.length > 0) this.poke();
    core.progressed();
  }
}
