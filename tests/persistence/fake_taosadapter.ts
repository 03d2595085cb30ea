/**
 * A stand-in for taosAdapter's REST endpoint on 127.0.0.1, for offline tests of the
 * TDengine adapter: it records each request and answers with what the test's handler
 * returns, typically a body copied from TDengine's documentation.
 */

import SCHEMA_SQL from "../../sql/tdengine.sql" with { type: "text" };
import { schemaStatements, stableShape } from "../../persistence/tdengine_sql.ts";

export interface TaosRequest {
  path: string;
  authorization: string | null;
  contentType: string | null;
  sql: string;
}

export interface TaosAnswer {
  status?: number;
  body: string;
}

export interface FakeTaosAdapter {
  url: string;
  requests: TaosRequest[];
  close(): Promise<void>;
}

/** The documented answer to a successful INSERT or DDL (`affected_rows`). */
export function affectedRows(n: number): TaosAnswer {
  return {
    body: JSON.stringify({
      code: 0,
      column_meta: [["affected_rows", "INT", 4]],
      data: [[n]],
      rows: 1,
    }),
  };
}

/** A documented error body: HTTP 200 with a non-zero code. */
export function taosError(code: number, desc: string, status = 200): TaosAnswer {
  return { status, body: JSON.stringify({ code, desc }) };
}

/**
 * A query answer: `columns` as [name, type, length] and the rows' JSON text, given raw so
 * that a test can put numbers no JS number holds (e.g. 18446744073709551615) in it.
 */
export function queryAnswer(columns: [string, string, number][], rowsJson: string): TaosAnswer {
  const rows = (JSON.parse(rowsJson.replace(/\d{16,}/g, "0")) as unknown[]).length;
  return {
    body: `{"code":0,"column_meta":${JSON.stringify(columns)},"data":${rowsJson},"rows":${rows}}`,
  };
}

/** The answer to the adapter's check of an existing database's settings. */
export function databaseSettings(precision = "us", walLevel = 2, fsyncMs = 0): TaosAnswer {
  return queryAnswer(
    [["precision", "VARCHAR", 2], ["wal_level", "TINYINT", 1], ["wal_fsync_period", "INT", 4]],
    JSON.stringify([[precision, walLevel, fsyncMs]]),
  );
}

/** The fields of each super table of sql/tdengine.sql, by table name. */
const SCHEMA_FIELDS = new Map(
  schemaStatements(SCHEMA_SQL, "trading").tables.map((t) => {
    const { table, fields } = stableShape(t);
    return [table, fields] as const;
  }),
);

/**
 * The answer to `DESCRIBE <table>` for a table made by sql/tdengine.sql (or with the
 * `fields` given): one row per field, as TDengine lists them.
 */
export function describeAnswer(table: string, fields = SCHEMA_FIELDS.get(table) ?? []): TaosAnswer {
  return queryAnswer(
    [["field", "VARCHAR", 64], ["type", "VARCHAR", 32], ["length", "INT", 4], [
      "note",
      "VARCHAR",
      16,
    ]],
    JSON.stringify(fields.map((f) => [f, "BIGINT UNSIGNED", 8, ""])),
  );
}

/**
 * Answers what a fresh TDengine answers while the store sets its schema up (CREATE,
 * the database settings, DESCRIBE), or undefined for any other statement.
 */
export function schemaAnswer(
  req: TaosRequest,
  settings = databaseSettings(),
): TaosAnswer | undefined {
  if (req.sql.startsWith("CREATE ")) return affectedRows(0);
  if (req.sql.includes("information_schema.ins_databases")) return settings;
  const d = /^DESCRIBE (\w+)$/.exec(req.sql);
  if (d !== null) return describeAnswer(d[1]);
  return undefined;
}

/** Starts the fake; `handler` answers each request (it may throw to drop the connection). */
export function startFakeTaosAdapter(
  handler: (req: TaosRequest, index: number) => TaosAnswer | Promise<TaosAnswer>,
): Promise<FakeTaosAdapter> {
  const requests: TaosRequest[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) =>
        resolve({
          url: `http://127.0.0.1:${addr.port}`,
          requests,
          close: () => server.shutdown(),
        }),
    }, async (request) => {
      const req: TaosRequest = {
        path: new URL(request.url).pathname,
        authorization: request.headers.get("authorization"),
        contentType: request.headers.get("content-type"),
        sql: await request.text(),
      };
      requests.push(req);
      const answer = await handler(req, requests.length - 1);
      return new Response(answer.body, {
        status: answer.status ?? 200,
        headers: { "content-type": "application/json" },
      });
    });
  });
}

/** A URL where nothing listens: a port taken and released. */
export function closedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
