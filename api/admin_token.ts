/**
 * The admin API's bearer token: given by the operator, or kept in `<dir>/admin_token`
 * (mode 0o600), created with 256 random bits on first start. {@link tokenMatches}
 * compares a presented token in constant time.
 *
 * Error messages describe what is wrong with a token, never the token itself.
 */

import { randomHex, writeFileAtomic } from "./private_file.ts";
import { timingSafeEqual } from "node:crypto";

/** Name of the token file inside the data directory. */
export const ADMIN_TOKEN_FILE = "admin_token";
/** Shortest admin token accepted. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
/** Longest admin token accepted (given or read from the file). */
export const MAX_ADMIN_TOKEN_LENGTH = 1024;
/** Length in lowercase hex characters of a created token (256 random bits). */
export const CREATED_ADMIN_TOKEN_HEX_LENGTH = 64;

/** Printable ASCII without spaces: `!` (0x21) to `~` (0x7e). */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** The admin token and where it came from. */
export interface AdminToken {
  token: string;
  /** True only when this call created the file. */
  created: boolean;
  source: "given" | "file" | "created";
}

/** Why `token` is unacceptable, or null if it is fine. Never quotes the token. */
function tokenProblem(token: string): string | null {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return `it has ${token.length} characters, fewer than ${MIN_ADMIN_TOKEN_LENGTH}`;
  }
  if (token.length > MAX_ADMIN_TOKEN_LENGTH) {
    return `it has ${token.length} characters, more than ${MAX_ADMIN_TOKEN_LENGTH}`;
  }
  if (!TOKEN_PATTERN.test(token)) {
    return "it must be printable ASCII without spaces (characters ! to ~)";
  }
  return null;
}

/**
 * Returns the admin token: `given` if it is a non-empty string (checked, nothing
 * written), else the content of `dir/admin_token` without one trailing newline, else a
 * new random token (64 lowercase hex chars) written durably to that file with mode 0o600
 * (`dir` is created with mode 0o700 if missing).
 *
 * Throws if `given` is shorter than {@link MIN_ADMIN_TOKEN_LENGTH}, longer than
 * {@link MAX_ADMIN_TOKEN_LENGTH} or not printable ASCII without spaces; if the file can
 * be read by group or others (the message says to chmod 600 it); if the file is empty
 * or its content breaks the same rules as a given token; or if the file system fails.
 */
export async function loadOrCreateAdminToken(dir: string, given?: string): Promise<AdminToken> {
  if (given !== undefined && given !== "") {
    const problem = tokenProblem(given);
    if (problem !== null) throw new Error(`Cannot use the given admin token: ${problem}`);
    return { token: given, created: false, source: "given" };
  }

  const path = `${dir}/${ADMIN_TOKEN_FILE}`;
  let stat: Deno.FileInfo | null = null;
  try {
    stat = await Deno.stat(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }

  if (stat !== null) {
    if (!stat.isFile) throw new Error(`Cannot read admin token: "${path}" is not a regular file`);
    if (stat.mode !== null && (stat.mode & 0o077) !== 0) {
      throw new Error(
        `Cannot read admin token: "${path}" has mode 0o${
          (stat.mode & 0o777).toString(8)
        }, readable by group or others; run \`chmod 600 ${path}\``,
      );
    }
    // A newline plus a CR may follow the longest token; anything bigger is not a token.
    if (stat.size > MAX_ADMIN_TOKEN_LENGTH + 2) {
      throw new Error(
        `Cannot read admin token: "${path}" has ${stat.size} bytes, more than a token of at most ${MAX_ADMIN_TOKEN_LENGTH} characters`,
      );
    }
    const token = (await Deno.readTextFile(path)).replace(/\r?\n$/, "");
    if (token === "") throw new Error(`Cannot read admin token: "${path}" is empty`);
    const problem = tokenProblem(token);
    if (problem !== null) {
      throw new Error(`Cannot read admin token: the token in "${path}" is unusable: ${problem}`);
    }
    return { token, created: false, source: "file" };
  }

  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const token = randomHex(CREATED_ADMIN_TOKEN_HEX_LENGTH);
  await writeFileAtomic(dir, path, token + "\n");
  return { token, created: true, source: "created" };
}

/**
 * Whether `given` equals `expected`, compared in constant time for equal lengths. Tokens
 * of different byte lengths return false at once: the length is not a secret worth
 * hiding for a 256-bit token, and `timingSafeEqual` refuses unequal lengths.
 */
export function tokenMatches(expected: string, given: string): boolean {
  const a = new TextEncoder().encode(expected);
  const b = new TextEncoder().encode(given);
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
