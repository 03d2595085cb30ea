/**
 * A directory of snapshots (engine state, settlement state) written crash-safely:
 *
 *   1. files go into `tmp-snapshot-<id>/`, each fsynced, then `metadata.json`, then a
 *      `COMPLETE` marker holding every file's size and CRC-32, then the directory;
 *   2. the directory is renamed atomically to `snapshot-<id>/` (ids zero-padded to 16);
 *   3. `latest` is repointed atomically (a temporary symlink renamed over it);
 *   4. only the newest `keep` complete snapshots are kept; older ones and leftover
 *      temporary entries are deleted.
 *
 * A crash at any point leaves the previous snapshots intact and at worst a temporary
 * directory, which the next write removes. {@link SnapshotStore.loadLatest} returns the
 * newest directory with a `COMPLETE` marker, so it does not depend on `latest` having
 * been repointed (the link is kept for operators and tools).
 */

import { crc32 } from "./crc32.ts";
import { denoFs, type FsPort } from "./fs_port.ts";

/** Complete snapshots kept by default. */
export const DEFAULT_SNAPSHOTS_KEPT = 3;
/** Most files one snapshot may hold besides `metadata.json` and `COMPLETE`. */
export const MAX_SNAPSHOT_FILES = 256;
/** Longest file name inside a snapshot. */
export const MAX_SNAPSHOT_FILE_NAME_LENGTH = 100;

/** Name of the marker that makes a snapshot directory complete. */
export const COMPLETE_MARKER = "COMPLETE";
/** Name of the metadata file every snapshot holds. */
export const METADATA_FILE = "metadata.json";
/** Name of the symlink to the newest snapshot. */
export const LATEST_LINK = "latest";

const SNAPSHOT_PREFIX = "snapshot-";
const TEMP_PREFIX = "tmp-";
const ID_DIGITS = 16;
const SNAPSHOT_NAME = /^snapshot-(\d{16})$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** JSON-serializable snapshot metadata, stored as `metadata.json`. */
export type SnapshotMetadata = Record<string, unknown>;

export interface LoadedSnapshot {
  id: number;
  path: string;
  /** Every file of the snapshot except `metadata.json` and `COMPLETE`. */
  files: Record<string, Uint8Array>;
  metadata: SnapshotMetadata;
}

export interface SnapshotWriteResult {
  id: number;
  path: string;
  /** False when a complete snapshot with this id already existed and was kept as is. */
  written: boolean;
}

/** The `COMPLETE` marker's content: what every file must be. */
interface Manifest {
  files: Record<string, { bytes: number; crc32: number }>;
}

/** A complete snapshot whose files do not match its marker: names the file. */
export class SnapshotCorruptionError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`Snapshot corrupted at "${file}": ${reason}`);
    this.name = "SnapshotCorruptionError";
  }
}

export interface SnapshotStoreOptions {
  dir: string;
  fs?: FsPort;
  /** Complete snapshots kept (default {@link DEFAULT_SNAPSHOTS_KEPT}). */
  keep?: number;
}

/** The directory name of snapshot `id`. */
export function snapshotDirName(id: number): string {
  return SNAPSHOT_PREFIX + String(id).padStart(ID_DIGITS, "0");
}

async function writeFileSynced(fs: FsPort, path: string, bytes: Uint8Array): Promise<void> {
  const f = await fs.createNew(path);
  try {
    await f.writeAll(bytes);
    await f.syncData();
  } finally {
    f.close();
  }
}

export class SnapshotStore {
  readonly dir: string;
  private readonly fs: FsPort;
  private readonly keep: number;

  constructor(options: SnapshotStoreOptions) {
    this.dir = options.dir;
    this.fs = options.fs ?? denoFs;
    this.keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
    if (!(Number.isSafeInteger(this.keep) && this.keep >= 1)) {
      throw new RangeError(
        `Cannot open snapshot store: keep must be a positive integer, received ${this.keep}`,
      );
    }
  }

  /** Ids of the complete snapshots, ascending. */
  async list(): Promise<number[]> {
    const ids: number[] = [];
    for (const { id, name } of await this.snapshotDirs()) {
      if ((await this.fs.fileSize(`${this.dir}/${name}/${COMPLETE_MARKER}`)) !== null) ids.push(id);
    }
    return ids;
  }

  /**
   * Writes snapshot `id` with `files` and `metadata` (see the module doc for the steps)
   * and returns where it is. An existing complete snapshot with the same id is kept and
   * reported with `written: false`. Throws a RangeError for an id below the newest
   * complete one, a reserved or unsafe file name, or too many files; rethrows any
   * file-system error (the previous snapshots are then untouched).
   */
  async write(
    id: number,
    files: Record<string, Uint8Array>,
    metadata: SnapshotMetadata,
  ): Promise<SnapshotWriteResult> {
    if (!(Number.isSafeInteger(id) && id >= 0)) {
      throw new RangeError(
        `Cannot write snapshot: id must be a non-negative safe integer, received ${id}`,
      );
    }
    const names = Object.keys(files);
    if (names.length > MAX_SNAPSHOT_FILES) {
      throw new RangeError(
        `Cannot write snapshot ${id}: ${names.length} files, more than ${MAX_SNAPSHOT_FILES}`,
      );
    }
    for (const n of names) {
      if (
        !FILE_NAME.test(n) || n.length > MAX_SNAPSHOT_FILE_NAME_LENGTH || n === COMPLETE_MARKER ||
        n === METADATA_FILE
      ) {
        throw new RangeError(`Cannot write snapshot ${id}: invalid or reserved file name "${n}"`);
      }
    }
    const fs = this.fs;
    await fs.mkdir(this.dir);
    await this.removeTemporaries();
    const finalName = snapshotDirName(id);
    const finalPath = `${this.dir}/${finalName}`;
    const complete = await this.list();
    const newest = complete.length > 0 ? complete[complete.length - 1] : -1;
    if (complete.includes(id)) return { id, path: finalPath, written: false };
    if (id < newest) {
      throw new RangeError(
        `Cannot write snapshot ${id}: it is older than the newest complete snapshot ${newest}`,
      );
    }
    await fs.remove(finalPath); // an incomplete directory under the final name (never made by us)

    const tmpPath = `${this.dir}/${TEMP_PREFIX}${finalName}`;
    await fs.mkdir(tmpPath);
    const manifest: Manifest = { files: {} };
    const all: [string, Uint8Array][] = names.map((n) => [n, files[n]]);
    all.push([METADATA_FILE, new TextEncoder().encode(JSON.stringify(metadata))]);
    for (const [name, bytes] of all) {
      await writeFileSynced(fs, `${tmpPath}/${name}`, bytes);
      manifest.files[name] = { bytes: bytes.length, crc32: crc32(bytes) };
    }
    await writeFileSynced(
      fs,
      `${tmpPath}/${COMPLETE_MARKER}`,
      new TextEncoder().encode(JSON.stringify(manifest)),
    );
    await fs.syncDir(tmpPath);
    await fs.rename(tmpPath, finalPath);
    await fs.syncDir(this.dir);

    const tmpLink = `${this.dir}/${TEMP_PREFIX}${LATEST_LINK}`;
    await fs.remove(tmpLink);
    await fs.symlink(finalName, tmpLink);
    await fs.rename(tmpLink, `${this.dir}/${LATEST_LINK}`);
    await fs.syncDir(this.dir);

    await this.prune();
    return { id, path: finalPath, written: true };
  }

  /**
   * Loads the newest complete snapshot, or returns null if there is none. Incomplete
   * and temporary directories are ignored. Throws {@link SnapshotCorruptionError} if a
   * file of that snapshot does not match its `COMPLETE` marker.
   */
  async loadLatest(): Promise<LoadedSnapshot | null> {
    const dirs = await this.snapshotDirs();
    for (let i = dirs.length - 1; i >= 0; i--) {
      const path = `${this.dir}/${dirs[i].name}`;
      if ((await this.fs.fileSize(`${path}/${COMPLETE_MARKER}`)) === null) continue;
      return await this.load(dirs[i].id, path);
    }
    return null;
  }

  private async load(id: number, path: string): Promise<LoadedSnapshot> {
    const markerPath = `${path}/${COMPLETE_MARKER}`;
    let manifest: Manifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(await this.fs.readFile(markerPath)));
    } catch (e) {
      throw new SnapshotCorruptionError(markerPath, `unreadable marker: ${(e as Error).message}`);
    }
    const files: Record<string, Uint8Array> = {};
    let metadata: SnapshotMetadata | null = null;
    for (const [name, want] of Object.entries(manifest.files ?? {})) {
      const filePath = `${path}/${name}`;
      let bytes: Uint8Array;
      try {
        bytes = await this.fs.readFile(filePath);
      } catch (e) {
        throw new SnapshotCorruptionError(filePath, `unreadable: ${(e as Error).message}`);
      }
      const sum = crc32(bytes);
      if (bytes.length !== want.bytes || sum !== want.crc32) {
        throw new SnapshotCorruptionError(
          filePath,
          `expected ${want.bytes} bytes with CRC-32 ${want.crc32}, found ${bytes.length} bytes with CRC-32 ${sum}`,
        );
      }
      if (name === METADATA_FILE) metadata = JSON.parse(new TextDecoder().decode(bytes));
      else files[name] = bytes;
    }
    if (metadata === null) {
      throw new SnapshotCorruptionError(markerPath, `no ${METADATA_FILE} listed`);
    }
    return { id, path, files, metadata };
  }

  /** The `snapshot-<id>` directories, complete or not, by ascending id. */
  private async snapshotDirs(): Promise<{ id: number; name: string }[]> {
    let entries;
    try {
      entries = await this.fs.readDir(this.dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    const out: { id: number; name: string }[] = [];
    for (const e of entries) {
      const m = e.isDirectory ? SNAPSHOT_NAME.exec(e.name) : null;
      if (m !== null) out.push({ id: Number(m[1]), name: e.name });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  private async removeTemporaries(): Promise<void> {
    for (const e of await this.fs.readDir(this.dir)) {
      if (e.name.startsWith(TEMP_PREFIX)) await this.fs.remove(`${this.dir}/${e.name}`);
    }
  }

  /** Deletes all but the newest `keep` complete snapshots and any incomplete one. */
  private async prune(): Promise<void> {
    const complete = new Set((await this.list()).slice(-this.keep));
    for (const { id, name } of await this.snapshotDirs()) {
      if (!complete.has(id)) await this.fs.remove(`${this.dir}/${name}`);
    }
  }
}
