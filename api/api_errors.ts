/**
 * The REST envelope's error side: stable error codes grouped by area, the HTTP status of
 * each, and `ApiError`, which a handler throws to answer with one. Engine rejections keep
 * the engine's own codes (validation -1xxx, risk -2xxx, matching -3xxx; see
 * domain/reject_codes.ts); the API's own codes are positive.
 */

import { RejectCode, type RejectReason } from "../domain/reject_codes.ts";

export const ApiCode = {
  // request: 1xxx
  INVALID_JSON: 1001,
  INVALID_PARAMETER: 1002,
  BODY_TOO_LARGE: 1003,
  UNKNOWN_SYMBOL: 1004,
  UNKNOWN_ASSET: 1005,
  NOT_FOUND: 1006,
  UNKNOWN_USER: 1007,
  // auth: 2xxx
  MISSING_AUTH: 2001,
  UNKNOWN_API_KEY: 2002,
  BAD_SIGNATURE: 2003,
  STALE_TIMESTAMP: 2004,
  REPLAYED_REQUEST: 2005,
  ADMIN_TOKEN_REQUIRED: 2006,
  FORBIDDEN: 2007,
  // limits: 4xxx
  RATE_LIMITED: 4001,
  TOO_MANY_REQUESTS_IN_WINDOW: 4002,
  // availability: 5xxx
  OVERLOADED: 5001,
  UNAVAILABLE: 5002,
  INTERNAL: 5003,
} as const;

export type ApiCodeName = keyof typeof ApiCode;

const STATUS: Record<ApiCodeName, number> = {
  INVALID_JSON: 400,
  INVALID_PARAMETER: 400,
  BODY_TOO_LARGE: 413,
  UNKNOWN_SYMBOL: 400,
  UNKNOWN_ASSET: 400,
  NOT_FOUND: 404,
  UNKNOWN_USER: 404,
  MISSING_AUTH: 401,
  UNKNOWN_API_KEY: 401,
  BAD_SIGNATURE: 401,
  STALE_TIMESTAMP: 401,
  REPLAYED_REQUEST: 401,
  ADMIN_TOKEN_REQUIRED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOO_MANY_REQUESTS_IN_WINDOW: 429,
  OVERLOADED: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** An error answer: the handler throws it, the app's error handler writes the envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** Seconds a client should wait before retrying (429, 503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }

  static of(name: ApiCodeName, message: string, retryAfterS?: number): ApiError {
    return new ApiError(STATUS[name], ApiCode[name], message, retryAfterS);
  }
}

/** HTTP status of an engine rejection. */
export function rejectStatus(reason: RejectReason): number {
  switch (reason) {
    case "UNKNOWN_ORDER":
      return 404;
    case "NOT_ORDER_OWNER":
      return 403;
    case "DUPLICATE_CID":
    case "DUPLICATE_ORDER_ID":
      return 409;
    default:
      return 400;
  }
}

/** The engine rejection `reason` as an ApiError with the engine's code. */
export function rejectError(reason: RejectReason, message: string): ApiError {
  return new ApiError(rejectStatus(reason), RejectCode[reason], message);
}

/** The success envelope. */
export function ok<T>(data: T): { code: 0; msg: "ok"; data: T } {
  return { code: 0, msg: "ok", data };
}

/** The error envelope (no `data`). */
export function errorBody(code: number, msg: string): { code: number; msg: string } {
  return { code, msg };
}
