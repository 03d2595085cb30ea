/**
 * Temporary data directories of the pipeline bench: copying a built directory (the WAL,
 * snapshot links and the SQLite file) and removing one reliably.
 */

/** Copies a directory tree: files, directories and symbolic links (kept as links). */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = `${from}/${e.name}`;
    const dst = `${to}/${e.name}`;
    if (e.isSymlink) await Deno.symlink(await Deno.readLink(src), dst);
    else if (e.isDirectory) await copyTree(src, dst);
    else await Deno.copyFile(src, dst);
  }
}

/**
 * Removes a directory tree, retrying a few times: `halt()` can return while a
 * settlement snapshot started before it is still writing files into the tree.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(dir, { recursive: true });
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** Where settlement writes its snapshots inside a data directory. */
const SETTLEMENT_SNAPSHOTS = "settlement/snapshots";
const QUIET_POLL_MS = 20;
const QUIET_POLLS = 3;
const QUIET_TIMEOUT_MS = 5_000;

/**
 * Waits until no settlement snapshot is being written in `dataDir`: no temporary entry
 * and the same listing over a few polls. Needed after `Exchange.halt()`, which does not
 * wait for a settlement snapshot already started. Returns false on timeout.
 */
export async function waitQuiet(dataDir: string): Promise<boolean> {
  const dir = `${dataDir}/${SETTLEMENT_SNAPSHOTS}`;
  const deadline = performance.now() + QUIET_TIMEOUT_MS;
  let last = "";
  let same = 0;
  while (performance.now() < deadline) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) names.push(e.name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const listing = names.sort().join("/");
    const busy = names.some((n) => n.startsWith("tmp"));
    same = !busy && listing === last ? same + 1 : 0;
    if (same >= QUIET_POLLS) return true;
    last = listing;
    await new Promise((r) => setTimeout(r, QUIET_POLL_MS));
  }
  return false;
}
