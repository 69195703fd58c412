import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "../domain/json-depth";
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

/**
 * 400 naming the body when its JSON nests deeper than 32 levels, found on the raw bytes by an
 * iterative scan before anything parses or validates it: the recursive validators (segment
 * filters) and serialisers behind it then never see more than 32 levels (a 20,000-deep filter
 * used to overflow the stack: a 500). The bytes stay cached for the handlers and the signature checks.
 */
export const boundJsonDepth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (["POST", "PUT", "PATCH"].includes(c.req.method) && c.req.raw.body) {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (jsonDepthExceeds(bytes, MAX_JSON_DEPTH)) {
      const message = `nests deeper than ${MAX_JSON_DEPTH} levels`;
      return problemResponse(
        "bad_request",
        `The JSON body ${message}`,
        [{ path: "(body)", message }],
        c.get("requestId"),
      );
    }
  }
  await next();
};
