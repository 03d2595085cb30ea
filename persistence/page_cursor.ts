/**
 * Keyset paging for history queries, shared by the storage adapters: a page ends at the
 * last row's (time, id) key, and the next page starts strictly below it. Unlike OFFSET,
 * a page costs the same however deep it is, and rows written meanwhile neither shift nor
 * repeat the pages that follow.
 *
 * The cursor is opaque to callers: base64url of `<kind>.<timeMs>.<id>`, where the kind
 * ties it to one query ("o" orders, "t" trades) so it cannot be replayed against another.
 */

import { MAX_QUERY_ROWS } from "./storage_port.ts";

/** Where the previous page ended: the (time, id) key of its last row. */
export interface CursorKey {
  timeMs: number;
  id: number;
}

/** The query a cursor belongs to. */
export type CursorKind = "o" | "t";

/** Longest cursor accepted (two 16-digit numbers and a kind, in base64url). */
export const MAX_CURSOR_LENGTH = 64;

const CURSOR_TEXT = /^([ot])\.(\d{1,16})\.(\d{1,16})$/;

/** Returns the opaque cursor that continues a page after the row keyed `key`. */
export function encodeCursor(kind: CursorKind, key: CursorKey): string {
  const text = `${kind}.${key.timeMs}.${key.id}`;
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Returns the key a cursor of `kind` holds. Throws a RangeError naming the cursor when it
 * is malformed, too long, or from another kind of query.
 */
export function decodeCursor(kind: CursorKind, cursor: string): CursorKey {
  const bad = (why: string) =>
    new RangeError(`Invalid cursor: ${why}, received ${JSON.stringify(cursor.slice(0, 80))}`);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH) throw bad("wrong length");
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw bad("not base64url");
  }
  const m = CURSOR_TEXT.exec(text);
  if (m === null) throw bad("not a page cursor");
  if (m[1] !== kind) throw bad("cursor of another query");
  const key = { timeMs: Number(m[2]), id: Number(m[3]) };
  if (!Number.isSafeInteger(key.timeMs) || !Number.isSafeInteger(key.id)) {
    throw bad("key out of range");
  }
  return key;
}

/**
 * Returns `limit` capped at MAX_QUERY_ROWS. Throws a RangeError unless it is a positive
 * integer.
 */
export function pageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`Invalid limit: must be a positive integer, received ${limit}`);
  }
  return Math.min(limit, MAX_QUERY_ROWS);
}
