/**
 * The file-system operations the WAL and the snapshot store use, behind a small port:
 * {@link denoFs} is the real one, {@link FaultyFs} wraps another to count calls, fail a
 * chosen call (disk full, I/O error) or hold fsyncs until a test releases them.
 */

/** An open file, written sequentially. */
export interface FsFile {
  /** Writes all of `bytes` at the current position (looping over partial writes). */
  writeAll(bytes: Uint8Array): Promise<void>;
  /** Flushes the file's data (and the size needed to read it) to the device. */
  syncData(): Promise<void>;
  close(): void;
}

export interface FsEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

export interface FsPort {
  /** Creates a new file for writing; throws `Deno.errors.AlreadyExists` if it exists. */
  createNew(path: string): Promise<FsFile>;
  /** Opens an existing file to write after its current end. */
  openAppend(path: string): Promise<FsFile>;
  readFile(path: string): Promise<Uint8Array>;
  /** Cuts `path` to `bytes` and syncs it. */
  truncate(path: string, bytes: number): Promise<void>;
  /** The entries of a directory, in no particular order. */
  readDir(path: string): Promise<FsEntry[]>;
  /** Size in bytes of the file (not following a symlink), or null if there is none. */
  fileSize(path: string): Promise<number | null>;
  /** Creates a directory and its parents; no error if it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes a file, link or directory tree; no error if it does not exist. */
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  /** fsyncs a directory so that creations, renames and removals in it are durable. */
  syncDir(path: string): Promise<void>;
}

/** Writes up to this size are made synchronously (see {@link DenoFile.writeAll}). */
const SYNC_WRITE_MAX_BYTES = 256 << 10;

class DenoFile implements FsFile {
  constructor(private readonly file: Deno.FsFile) {}

  async writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    // A small write into the page cache takes about a microsecond in the calling thread;
    // the async op costs about 20 µs of CPU (a hop to Deno's blocking pool and back), once
    // per WAL batch. Large writes stay async so that they never hold the event loop.
    if (bytes.length <= SYNC_WRITE_MAX_BYTES) {
      while (off < bytes.length) off += this.file.writeSync(bytes.subarray(off));
      return;
    }
    while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
  }

  syncData(): Promise<void> {
    return this.file.syncData();
  }

  close(): void {
    this.file.close();
  }
}

/** The real file system through `Deno.*`. */
export const denoFs: FsPort = {
  async createNew(path) {
    return new DenoFile(await Deno.open(path, { write: true, createNew: true }));
  },
  async openAppend(path) {
    return new DenoFile(await Deno.open(path, { append: true }));
  },
  readFile: (path) => Deno.readFile(path),
  async truncate(path, bytes) {
    const f = await Deno.open(path, { write: true });
    try {
      await f.truncate(bytes);
      await f.syncData();
    } finally {
      f.close();
    }
  },
  async readDir(path) {
    const out: FsEntry[] = [];
    for await (const e of Deno.readDir(path)) out.push(e);
    return out;
  },
  async fileSize(path) {
    try {
      return (await Deno.lstat(path)).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  mkdir: (path) => Deno.mkdir(path, { recursive: true }),
  async remove(path) {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  },
  rename: (from, to) => Deno.rename(from, to),
  symlink: (target, path) => Deno.symlink(target, path),
  async syncDir(path) {
    const d = await Deno.open(path, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  },
};

/** The operations {@link FaultyFs} counts and can fail. */
export type FsOp =
  | "createNew"
  | "openAppend"
  | "write"
  | "syncData"
  | "readFile"
  | "truncate"
  | "readDir"
  | "mkdir"
  | "remove"
  | "rename"
  | "symlink"
  | "syncDir";

interface Fault {
  /** Calls of the operation that still succeed before the failing one. */
  okCalls: number;
  error: Error;
  /** For "write": bytes actually written before the error (a short write, then ENOSPC). */
  writtenBytes: number;
}

/**
 * A test double over another {@link FsPort}: counts every operation in {@link calls},
 * fails a chosen call with {@link failOn}, and {@link holdSyncs} parks every file
 * `syncData` until the returned release function is called.
 */
export class FaultyFs implements FsPort {
  readonly calls: Record<FsOp, number> = {
    createNew: 0,
    openAppend: 0,
    write: 0,
    syncData: 0,
    readFile: 0,
    truncate: 0,
    readDir: 0,
    mkdir: 0,
    remove: 0,
    rename: 0,
    symlink: 0,
    syncDir: 0,
  };
  private readonly faults = new Map<FsOp, Fault>();
  private syncGate: Promise<void> | null = null;

  constructor(private readonly inner: FsPort = denoFs) {}

  /**
   * Makes call number `okCalls + 1` (counted from now) of `op` throw `error`; for
   * "write", `writtenBytes` of the buffer reach the file first. One-shot.
   */
  failOn(op: FsOp, error: Error, okCalls = 0, writtenBytes = 0): void {
    this.faults.set(op, { okCalls, error, writtenBytes });
  }

  /** Holds every file `syncData` from now until the returned function is called. */
  holdSyncs(): () => void {
    let release!: () => void;
    this.syncGate = new Promise((r) => (release = r));
    return () => {
      this.syncGate = null;
      release();
    };
  }

  /** Counts a call of `op` and returns the fault it must raise, if any. */
  private hit(op: FsOp): Fault | null {
    this.calls[op]++;
    const f = this.faults.get(op);
    if (f === undefined) return null;
    if (f.okCalls > 0) {
      f.okCalls--;
      return null;
    }
    this.faults.delete(op);
    return f;
  }

  private async run<T>(op: FsOp, fn: () => Promise<T>): Promise<T> {
    const f = this.hit(op);
    if (f !== null) throw f.error;
    return await fn();
  }

  private wrap(file: FsFile): FsFile {
    return {
      writeAll: async (bytes) => {
        const f = this.hit("write");
        if (f === null) return await file.writeAll(bytes);
        await file.writeAll(bytes.subarray(0, Math.min(f.writtenBytes, bytes.length)));
        throw f.error;
      },
      syncData: async () => {
        if (this.syncGate !== null) await this.syncGate;
        return await this.run("syncData", () => file.syncData());
      },
      close: () => file.close(),
    };
  }

  createNew(path: string): Promise<FsFile> {
    return this.run("createNew", async () => this.wrap(await this.inner.createNew(path)));
  }
  openAppend(path: string): Promise<FsFile> {
    return this.run("openAppend", async () => this.wrap(await this.inner.openAppend(path)));
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.run("readFile", () => this.inner.readFile(path));
  }
  truncate(path: string, bytes: number): Promise<void> {
    return this.run("truncate", () => this.inner.truncate(path, bytes));
  }
  readDir(path: string): Promise<FsEntry[]> {
    return this.run("readDir", () => this.inner.readDir(path));
  }
  fileSize(path: string): Promise<number | null> {
    return this.inner.fileSize(path);
  }
  mkdir(path: string): Promise<void> {
    return this.run("mkdir", () => this.inner.mkdir(path));
  }
  remove(path: string): Promise<void> {
    return this.run("remove", () => this.inner.remove(path));
  }
  rename(from: string, to: string): Promise<void> {
    return this.run("rename", () => this.inner.rename(from, to));
  }
  symlink(target: string, path: string): Promise<void> {
    return this.run("symlink", () => this.inner.symlink(target, path));
  }
  syncDir(path: string): Promise<void> {
    return this.run("syncDir", () => this.inner.syncDir(path));
  }
}
