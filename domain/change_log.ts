/**
 * The change-log entry: the one envelope every stage speaks (ARCHITECTURE.md section 4).
 * `seq` orders entries within the stream that produced them; `ts` is the time the
 * command was accepted (milliseconds, passed in, never read from a clock here).
 */

import type { EngineEvent } from "./events.ts";

export type ChangeEntity = "order" | "trade" | "balance" | "book" | "candle" | "command";

export interface ChangeLogEntry<P = EngineEvent> {
  seq: number;
  ts: number;
  type: P extends { type: infer T } ? T : string;
  entity: ChangeEntity;
  /** Order id, trade id, `${userId}:${assetId}`, `${symbolId}` or candle key. */
  id: string;
  payload: P;
}
