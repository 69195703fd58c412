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

export const serviceContext = (
  env: Env,
  tenantId: string,
  waitUntil?: (p: Promise<unknown>) => void,
): ServiceContext => ({
  env,
  db: createDb(env.DB),
  tenantId,
  waitUntil,
});
