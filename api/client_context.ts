/**
 * What a client command receives: the output it writes to, its context (options, URL,
 * credentials) and the readers of its arguments, which throw {@link UsageError} on bad
 * input. Shared by the argument parser, the command table and `watch`.
 */

import type { ClientCredentials } from "./signed_client.ts";

/** Where the client writes: stdout lines and stderr lines. */
export interface CliOutput {
  log(s: string): void;
  error(s: string): void;
}

/** Bad usage: exit code 2. */
export class UsageError extends Error {}

export type Auth = "none" | "user" | "admin";

/** What a command runs with: the global options resolved and its own options. */
export interface Ctx {
  command: string;
  baseUrl: string;
  json: boolean;
  values: Map<string, string>;
  switches: Set<string>;
  out: CliOutput;
  credentials?: ClientCredentials;
  adminToken?: string;
}

// deno-lint-ignore no-explicit-any
export type Data = any;

const INTEGER = /^[1-9][0-9]{0,14}$/;
const DECIMAL = /^[0-9]{1,30}(\.[0-9]{1,30})?$/;

export function positiveInt(text: string, what: string): number {
  if (!INTEGER.test(text)) {
    throw new UsageError(`${what} must be a positive integer, received "${text}"`);
  }
  return Number(text);
}

export function decimal(text: string, what: string): string {
  if (!DECIMAL.test(text)) {
    throw new UsageError(`${what} must be a decimal such as 1.5, received "${text}"`);
  }
  return text;
}

export function oneOf(text: string, what: string, allowed: readonly string[]): string {
  const upper = text.toUpperCase();
  if (!allowed.includes(upper)) {
    throw new UsageError(`${what} must be one of ${allowed.join(", ")}, received "${text}"`);
  }
  return upper;
}

/** `--name` as a positive integer, if given. */
export function intOption(ctx: Ctx, name: string): number | undefined {
  const v = ctx.values.get(name);
  return v === undefined ? undefined : positiveInt(v, `--${name}`);
}

export function decimalOption(ctx: Ctx, name: string): string | undefined {
  const v = ctx.values.get(name);
  return v === undefined ? undefined : decimal(v, `--${name}`);
}
