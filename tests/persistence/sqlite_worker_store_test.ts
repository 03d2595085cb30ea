/** The SQLite adapter on a worker thread passes the same conformance suite. */

import { SqliteWorkerStore } from "../../persistence/sqlite_worker_store.ts";
import { registerStorageConformance } from "./storage_conformance.ts";

const dirs: string[] = [];
registerStorageConformance("SQLite on a worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_worker_" });
  dirs.push(dir);
  return new SqliteWorkerStore({ path: `${dir}/store.db` });
}, {
  dispose: async () => {
    for (const d of dirs.splice(0)) await Deno.remove(d, { recursive: true });
  },
});
