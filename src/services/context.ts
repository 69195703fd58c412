import { createDb, type Db } from "../db/client";
import type { Env } from "../env";

/** What every service call gets: bindings, the database, and the tenant it acts for. */
export interface ServiceContext {
  env: Env;
  db: Db;
  tenantId: string;
  /** Defer work past the response (ExecutionContext.waitUntil), when there is one. */
  waitUntil?: (p: Promise<unknown>) => void;
}

/**
 * A service context before the tenant is known: what a request has on arrival (bindings, one
 * database handle, waitUntil). Tenant creation and carrier callbacks start from it; anything that
 * acts for a tenant takes it `forTenant`.
 */
export type BaseContext = Omit<ServiceContext, "tenantId">;

export const baseContext = (env: Env, waitUntil?: (p: Promise<unknown>) => void): BaseContext => ({
  env,
  db: createDb(env.DB),
  waitUntil,
});

/** The same bindings, database handle and waitUntil, acting for `tenantId`. */
export const forTenant = (base: BaseContext, tenantId: string): ServiceContext => ({ ...base, tenantId });

/** For work outside a request (queue consumers, cron, hook processing): no request to build it once per. */
export const serviceContext = (
  env: Env,
  tenantId: string,
  waitUntil?: (p: Promise<unknown>) => void,
): ServiceContext => forTenant(baseContext(env, waitUntil), tenantId);
