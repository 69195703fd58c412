import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { baseContext, forTenant } from "../services/context";

/** The request's `waitUntil`, when it has an ExecutionContext (Hono's getter throws when it has none). */
function requestWaitUntil(c: Context<AppEnv>): ((p: Promise<unknown>) => void) | undefined {
  let ec: Context<AppEnv>["executionCtx"];
  try {
    ec = c.executionCtx;
  } catch {
    return undefined;
  }
  return (p) => ec.waitUntil(p);
}

/**
 * Builds the request's services once (bindings, one database handle, waitUntil) as
 * `c.var.baseServices`. Routes never build a service context themselves: API-key routes read
 * `c.var.services` (set by requireApiKey via {@link setTenantServices}); the few routes without an
 * API key (tenant creation, carrier callbacks) hand `c.var.baseServices` to a service that finds
 * the tenant.
 */
export const initServices: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("baseServices", baseContext(c.env, requestWaitUntil(c)));
  await next();
};

/** `c.var.services`: the request's services acting for `tenantId` (the API key's tenant). */
export function setTenantServices(c: Context<AppEnv>, tenantId: string): void {
  const base = c.get("baseServices") ?? baseContext(c.env, requestWaitUntil(c));
  c.set("services", forTenant(base, tenantId));
}
