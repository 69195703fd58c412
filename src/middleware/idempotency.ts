import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import type { AuthContext } from "../env";
import { decryptSecret, encryptSecret, sha256Hex } from "../lib/crypto";
import { HttpProblem, invalidField } from "../lib/problem";
import {
  claimIdempotencyKey,
  releaseIdempotencyKey,
  storeIdempotentAnswer,
} from "../services/idempotency/keys";

const MAX_KEY_LENGTH = 255;

/** The `Idempotency-Key` request header, for the OpenAPI description of POST routes. */
export const IdempotencyKeyHeaderSchema = z.object({
  "Idempotency-Key": z
    .string()
    .min(1)
    .max(MAX_KEY_LENGTH)
    .optional()
    .openapi({
      param: { name: "Idempotency-Key", in: "header" },
      description:
        "Makes the POST safe to retry for 24 h: the same key and body replay the first response (status and body, with `Idempotent-Replayed: true`) and do nothing new; the same key with another body → 422; while the first is still running → 409. Keys are scoped to the tenant; the scope check comes first, and an answer is replayed only to an API key with the same scopes as the first caller's (another → 422).",
      example: "order-1042-shipped",
    }),
});

/** JSON with object keys sorted at every level, so key order does not change the fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const canonicalBody = (raw: string): string => {
  if (raw.trim() === "") return "";
  try {
    return canonicalJson(JSON.parse(raw));
  } catch {
    return raw;
  }
};

/**
 * What a key is bound to: method, path, the canonical JSON body — and the caller's scopes, so a
 * stored answer (which may hold a secret shown once, such as a `*` key) is replayed only to a key
 * as privileged as the one that caused it; any other key gets the 422 of a reused key.
 */
export const requestFingerprint = (
  method: string,
  path: string,
  rawBody: string,
  scopes: readonly string[],
): Promise<string> =>
  sha256Hex(`${method.toUpperCase()} ${path}\n${[...scopes].sort().join(" ")}\n${canonicalBody(rawBody)}`);

/** Statuses whose outcome is final for this request: replayed. 400/422/5xx are released so the client may fix and retry. */
const isStored = (status: number): boolean =>
  (status >= 200 && status < 300) || status === 404 || status === 409;

/**
 * `Idempotency-Key` for every POST under /v1 with an authenticated tenant (keys are scoped per
 * tenant). A route middleware placed right after the route's `requireScope`: authentication and
 * the scope are checked before any stored answer is replayed (an app-wide middleware ran before the
 * scope check and handed a `contacts:read` key the stored `*` key of an earlier admin request).
 * Fingerprint = method + path + caller's scopes + canonical JSON body. The first request claims the key
 * (`INSERT … ON CONFLICT DO NOTHING`, locked 60 s); its 2xx/404/409 answer is stored and replayed
 * for 24 h; 400/422/5xx release the key.
 */
export const idempotency: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== "POST") return next();
  const key = c.req.header("idempotency-key");
  const auth = c.get("auth") as AuthContext | undefined;
  if (key === undefined || !auth) return next();
  if (key.length === 0 || key.length > MAX_KEY_LENGTH)
    throw invalidField("Idempotency-Key", `must be 1–${MAX_KEY_LENGTH} characters`);

  let raw: string;
  try {
    raw = await c.req.text();
  } catch (err) {
    // A chunked body past the limit fails while being read here, before the body-limit middleware sees it.
    if ((err as Error).name === "BodyLimitError")
      throw new HttpProblem("payload_too_large", "Request body too large");
    throw err;
  }
  const fingerprint = await requestFingerprint(c.req.method, c.req.path, raw, auth.scopes);
  const db = c.env.DB;
  const claimed = await claimIdempotencyKey(db, auth.tenantId, key, fingerprint);
  if (claimed.kind === "mismatch")
    throw invalidField("Idempotency-Key", "was already used with a different request; use a new key");
  if (claimed.kind === "in_flight")
    throw new HttpProblem(
      "conflict",
      "A request with this Idempotency-Key is still in progress; retry shortly",
    );
  if (claimed.kind === "replay") {
    const { row } = claimed;
    const status = row.response_status ?? 200;
    const headers: Record<string, string> = { "Idempotent-Replayed": "true" };
    if (row.response_content_type) headers["content-type"] = row.response_content_type;
    const noBody = status === 204 || status === 205 || status === 304;
    const stored = row.response_body ? await decryptSecret(c.env.ENCRYPTION_KEY, row.response_body) : "";
    return new Response(noBody ? null : stored, { status, headers });
  }

  const release = () => releaseIdempotencyKey(db, auth.tenantId, key, claimed.lock);
  try {
    await next();
  } catch (err) {
    await release();
    throw err;
  }
  const res = c.res;
  if (!isStored(res.status)) {
    await release();
    return;
  }
  // Sealed at rest: some answers carry a secret shown once (API keys, webhook secrets).
  const body = await encryptSecret(c.env.ENCRYPTION_KEY, await res.clone().text());
  await storeIdempotentAnswer(db, auth.tenantId, key, claimed.lock, {
    status: res.status,
    sealedBody: body,
    contentType: res.headers.get("content-type"),
  });
};
