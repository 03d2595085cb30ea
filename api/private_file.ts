/**
 * Small files only the owner may read (API secrets, the admin token): written atomically
 * and durably, and the random hex they hold.
 */

/** `chars` lowercase hex characters from the system's secure random source. */
export function randomHex(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(chars / 2));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** True for the errors a platform gives when it cannot fsync a directory. */
function isDirSyncUnsupported(e: unknown): boolean {
  if (e instanceof Deno.errors.NotSupported) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EINVAL" || code === "ENOTSUP" || code === "EOPNOTSUPP";
}

/**
 * Replaces `path` with `text` atomically and durably: `<path>.tmp` (mode 0o600) is
 * written and fsynced, renamed over `path`, then the directory is fsynced.
 */
export async function writeFileAtomic(dir: string, path: string, text: string): Promise<void> {
  const tmpPath = `${path}.tmp`;
  const file = await Deno.open(tmpPath, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    // `mode` applies only when the file is created; a leftover tmp keeps its old mode.
    await Deno.chmod(tmpPath, 0o600);
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmpPath, path);
  let dirFile: Deno.FsFile;
  try {
    dirFile = await Deno.open(dir, { read: true });
  } catch (e) {
    if (isDirSyncUnsupported(e) || Deno.build.os === "windows") return;
    throw e;
  }
  try {
    await dirFile.sync();
  } catch (e) {
    if (!isDirSyncUnsupported(e)) throw e;
  } finally {
    dirFile.close();
  }
}
