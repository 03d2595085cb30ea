/**
 * The Acquiring stage (account shard, R1): takes client commands one at a time, checks
 * them against the symbol's filters, assigns order ids, holds funds, and appends every
 * accepted command with its decisions to the command WAL. A rejection is answered at
 * once (nothing changed, nothing logged); an accepted command is answered by the Match
 * stage, after the WAL batch holding it is durable. Also deposits and withdrawals.
 */

import type { Command } from "../domain/commands.ts";
import { EV_REJECTED, EventBuffer } from "../domain/event_buffer.ts";
import type { EngineEvent } from "../domain/events.ts";
import type { MatchAmend, MatchCancel, MatchPlace } from "../domain/match_input.ts";
import { type DurableCommand, encodeCommand } from "../persistence/command_codec.ts";
import { APPEND_OVERLOADED } from "../persistence/wal_writer.ts";
import { Actor } from "./actor.ts";
import type { SendResult } from "./mailbox.ts";
import {
  type AcceptedCommand,
  type ClientRequest,
  DoneResult,
  MAX_IN_FLIGHT_COMMANDS,
  type PipelineCore,
} from "./pipeline_core.ts";
import type { ChildContext, SupervisedChild } from "./supervisor.ts";

/** Client requests waiting for the Acquiring stage. */
export const ACQUIRING_MAILBOX_CAPACITY = 65_536;
/** Doubles of events the stage writes into one buffer before starting another. */
const ACQUIRING_BUFFER_DOUBLES = 1 << 20;

export class AcquiringStage implements SupervisedChild {
  private readonly actor: Actor<ClientRequest>;
  /** Events of the commands handled lately; replaced when large (answers still read it). */
  private buf = new EventBuffer(ACQUIRING_BUFFER_DOUBLES);

  constructor(private readonly core: PipelineCore, ctx: ChildContext) {
    this.actor = new Actor<ClientRequest>({
      name: ctx.name,
      capacity: ACQUIRING_MAILBOX_CAPACITY,
      handle: (r) => this.handle(r),
      onCrash: ctx.onCrash,
      logger: core.logger,
    });
  }

  start(): void {
    this.actor.start();
  }

  stop(): Promise<void> {
    return this.actor.stop();
  }

  /** Offers a request; a full mailbox or a stopped stage is an explicit refusal. */
  send(r: ClientRequest): SendResult {
    return this.actor.send(r);
  }

  get stats() {
    return this.actor.stats();
  }

  private handle(r: ClientRequest): void | Promise<void> {
    // A snapshot in progress: wait (the requests behind this one wait in the mailbox).
    const paused = this.core.paused;
    if (paused !== null) return paused.then(() => this.handle(r));
    const core = this.core;
    if (core.intakeStopped !== null) {
      r.reply({
        status: "unavailable",
        message: `The exchange is not taking commands: ${core.intakeStopped}`,
      });
      return;
    }
    if (
      core.inFlight >= MAX_IN_FLIGHT_COMMANDS || core.wal.pendingRecords >= core.walPendingLimit
    ) {
      r.reply({
        status: "overload",
        message: `The exchange is at capacity (${core.inFlight} commands in flight); retry later`,
      });
      return;
    }
    const tsMs = core.clock.now();
    const risk = core.risk;
    if (this.buf.length > ACQUIRING_BUFFER_DOUBLES) {
      this.buf = new EventBuffer(ACQUIRING_BUFFER_DOUBLES);
    }
    const buf = this.buf;
    const from = buf.length;
    risk.out = buf;
    const cmd = r.cmd;
    let record: DurableCommand | null = null;
    let place: MatchPlace | undefined;
    let cancel: MatchCancel | undefined;
    let amend: MatchAmend | undefined;
    switch (cmd.type) {
      case "place": {
        const m = risk.acquirePlace(cmd, tsMs);
        if (m !== null) {
          place = { ...m };
          // Encoded before the next command reuses the decision object.
          record = { type: "place", tsMs, clientRef: r.clientRef, d: risk.placeDecision };
        }
        break;
      }
      case "cancel": {
        const m = risk.acquireCancel(cmd);
        if (m !== null) {
          cancel = { ...m };
          record = { type: "cancel", tsMs, clientRef: r.clientRef, c: cancel };
        }
        break;
      }
      case "amend": {
        const m = risk.acquireAmend(cmd);
        if (m !== null) {
          amend = { ...m };
          const { riskRef: _ref, ...d } = m;
          record = { type: "amend", tsMs, clientRef: r.clientRef, d };
        }
        break;
      }
      case "deposit":
        risk.deposit(cmd);
        if (!rejected(buf, from)) {
          record = { type: "deposit", tsMs, clientRef: r.clientRef, c: cmd };
        }
        break;
      case "withdraw":
        risk.withdraw(cmd);
        if (!rejected(buf, from)) {
          record = { type: "withdraw", tsMs, clientRef: r.clientRef, c: cmd };
        }
        break;
      default:
        r.reply({
          status: "done",
          events: [unknownCommand(cmd)],
        });
        return;
    }
    const acq = { buf, from, to: buf.length };
    if (record === null) {
      r.reply(new DoneResult([acq]));
      return;
    }
    // The shard's state already holds the decision: it must reach the WAL, or the process
    // must stop (recovery from the WAL then forgets it). Capacity was checked above.
    const seq = core.wal.append(encodeCommand(record));
    if (seq < 0) {
      const why = seq === APPEND_OVERLOADED ? "the WAL buffer is full" : "the WAL failed";
      throw new Error(`Cannot log accepted command: ${why}; state and log would diverge`);
    }
    core.lastSeq = seq;
    core.lastClientRef = r.clientRef;
    const accepted: AcceptedCommand = {
      seq,
      tsMs,
      clientRef: r.clientRef,
      kind: cmd.type,
      place,
      cancel,
      amend,
      acq,
      reply: r.reply,
    };
    core.awaiting.push(accepted);
  }
}

function rejected(buf: EventBuffer, from: number): boolean {
  return buf.length > from && buf.f[from] === EV_REJECTED;
}

function unknownCommand(cmd: Command): EngineEvent {
  return {
    type: "rejected",
    command: "place",
    code: -1010,
    reason: "INVALID_ORDER_SPEC",
    message: `Cannot apply command: unknown type "${(cmd as { type?: unknown }).type}"`,
    userId: (cmd as { userId?: number }).userId ?? 0,
    orderId: null,
    cid: null,
  };
}
