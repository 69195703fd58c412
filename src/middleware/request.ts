import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env";
import { newId } from "../lib/ids";
import { problemResponse } from "../lib/problem";

/** Every response carries `X-Request-Id` (the caller's, when it sent a sane one). */
export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const given = c.req.header("x-request-id");
  const id = given && /^[\w.:-]{1,128}$/.test(given) ? given : newId("request");
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
};

/** 413 past `maxSize` bytes, as problem+json. */
export const limitBody = (maxSize: number): MiddlewareHandler<AppEnv> =>
  bodyLimit({
    maxSize,
    onError: (c) =>
      problemResponse(
        "payload_too_large",
        `Request body exceeds ${maxSize} bytes`,
        undefined,
        c.get("requestId"),
      ),
  });

const hasBody = (req: Request): boolean => {
  const len = req.headers.get("content-length");
  if (len !== null) return Number(len) > 0;
  return req.body !== null;
};

/** Bodies under /v1 and /hooks are JSON: anything else is a 415. */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (["POST", "PUT", "PATCH"].includes(c.req.method) && hasBody(c.req.raw)) {
    const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (type !== "application/json" && !type.endsWith("+json")) {
      return problemResponse(
        "unsupported_media_type",
        `Content-Type must be application/json (got ${type || "none"})`,
        [{ path: "content-type", message: "must be application/json" }],
        c.get("requestId"),
      );
    }
  }
  await next();
};
