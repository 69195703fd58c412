import type { RateLimiterBinding } from "./limits/durable-object";
import type { DispatchJob, WorkJob } from "./pipeline/jobs";

/** Bindings of the Herald Worker (wrangler.toml, .dev.vars, secrets). */
export interface Env extends RateLimiterBinding {
  DB: D1Database;
  /** Outbox doorbell: message ids to dispatch. */
  DISPATCH_QUEUE: Queue<DispatchJob>;
  DISPATCH_DLQ: Queue<DispatchJob>;
  /** Background work: storefront hooks, outbound webhook deliveries. */
  WORK_QUEUE: Queue<WorkJob>;
  WORK_DLQ: Queue<WorkJob>;
  ADMIN_TOKEN: string;
  ENCRYPTION_KEY: string;
  ENVIRONMENT: string;
  PUBLIC_BASE_URL: string;
}

/** Who is calling: resolved from the API key, never from the path or body. */
export interface AuthContext {
  tenantId: string;
  keyId: string;
  scopes: string[];
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    auth: AuthContext;
  };
};

/**
 * Production unless the deployment says `development`: a missing, empty or misspelt ENVIRONMENT
 * gets production's rules (URL guard, PUBLIC_BASE_URL required), never development's.
 */
export const isProduction = (env: Pick<Env, "ENVIRONMENT">): boolean => env.ENVIRONMENT !== "development";
