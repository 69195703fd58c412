import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import type { AuthContext } from "../env";
import { timingSafeEqual } from "../lib/crypto";
import { HttpProblem } from "../lib/problem";
import { authenticateApiKey } from "../services/api-keys/authenticate";
import { setTenantServices } from "./services";

const bearer = (header: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
};

/**
 * Resolves the API key to its tenant (`c.var.auth`) and sets the services acting for it
 * (`c.var.services`). 401 for a missing, unknown or revoked key.
 */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  if (!token) throw new HttpProblem("unauthorized", "Send an API key as `Authorization: Bearer hk_live_…`");
  const auth = await authenticateApiKey(c.env, token, (p) => c.executionCtx.waitUntil(p));
  if (!auth) throw new HttpProblem("unauthorized", "The API key is unknown or revoked");
  c.set("auth", auth);
  setTenantServices(c, auth.tenantId);
  await next();
};

/**
 * Only the operator's ADMIN_TOKEN (the `/v1/tenants` routes). Anything else — no token, a wrong one,
 * a tenant's API key — is a 401: it is no credential for these routes, not a credential lacking a right.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  if (!token || !c.env.ADMIN_TOKEN || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) {
    throw new HttpProblem("unauthorized", "Operator routes need `Authorization: Bearer <ADMIN_TOKEN>`");
  }
  await next();
};

export const hasScope = (auth: AuthContext, scope: string): boolean =>
  auth.scopes.includes("*") ||
  auth.scopes.includes(scope) ||
  (scope.endsWith(":read") && auth.scopes.includes(scope.replace(":read", ":write")));

/** 403 unless the key carries `scope` (or `*`; a `:write` scope implies `:read`). */
export const requireScope =
  (scope: string): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (!hasScope(c.get("auth"), scope))
      throw new HttpProblem("forbidden", `This API key lacks the \`${scope}\` scope`);
    await next();
  };
