/**
 * A POST route whose JSON body is checked by its zod schema inside the handler, and whose
 * definition is registered for the OpenAPI document like any other: the same schema
 * documents and validates. Why not `app.openapi` for these: its validator chain (media
 * type gate, body parse, zValidator) cost about 3.5 µs a request against 0.6 µs for a
 * direct `safeParse`, and these routes carry the order traffic.
 */

import type { OpenAPIHono, RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ApiEnv } from "./api_context.ts";
import { ApiCode, ApiError } from "./api_errors.ts";

type Issue = { path: PropertyKey[]; message: string };

/** The message of a request that fails its schema: the first problems, with their fields. */
export function invalidRequestMessage(issues: readonly Issue[]): string {
  const parts = issues.slice(0, 5).map((i) =>
    i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message
  );
  return `invalid request: ${parts.join("; ")}`;
}

/** Registers `route` (a POST with a JSON body schema) and serves it with `handler`. */
export function postJson<S extends z.ZodType>(
  app: OpenAPIHono<ApiEnv>,
  route: RouteConfig & { method: "post"; path: string },
  schema: S,
  handler: (c: Context<ApiEnv>, body: z.infer<S>) => Response | Promise<Response>,
): void {
  app.openAPIRegistry.registerPath(route);
  app.post(route.path, async (c) => handler(c, await jsonBody(c, schema)));
}

/** The request's JSON body checked by `schema`; throws the ApiError that says what is wrong. */
async function jsonBody<S extends z.ZodType>(c: Context<ApiEnv>, schema: S): Promise<z.infer<S>> {
  const type = c.req.header("content-type");
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new ApiError(
      415,
      ApiCode.INVALID_PARAMETER,
      `content-type must be application/json, received "${type}"`,
    );
  }
  const text = await c.req.text();
  let value: unknown = {};
  if (text !== "") {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw ApiError.of(
        "INVALID_JSON",
        `the request body is not valid JSON: ${e instanceof Error ? e.message : e}`,
      );
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) throw ApiError.of("INVALID_PARAMETER", invalidRequestMessage(r.error.issues));
  return r.data;
}
