import type { DispatchJob, WorkJob } from "./pipeline/jobs";

/** The queue bindings, typed with the jobs they carry (`wrangler types` types them `Queue<unknown>`). */
type QueueBindings = "DISPATCH_QUEUE" | "DISPATCH_DLQ" | "WORK_QUEUE" | "WORK_DLQ";

/**
 * Bindings of the Herald Worker: `WorkerEnv` is generated from wrangler.jsonc (bindings, vars, and
 * the required secrets ADMIN_TOKEN and ENCRYPTION_KEY) into worker-configuration.d.ts by
 * `npm run types`; `npm run types:check` fails when that file is stale.
 */
export interface Env extends Omit<WorkerEnv, QueueBindings> {
  /** Outbox doorbell: message ids to dispatch. */
  DISPATCH_QUEUE: Queue<DispatchJob>;
  DISPATCH_DLQ: Queue<DispatchJob>;
  /** Background work: storefront hooks, outbound webhook deliveries. */
  WORK_QUEUE: Queue<WorkJob>;
  WORK_DLQ: Queue<WorkJob>;
}

/** Who is calling: resolved from the API key, never from the path or body. */
export interface AuthContext {
  tenantId: string;
  keyId: string;
  scopes: string[];
}

/**
 * Production unless the deployment says `development`: a missing, empty or misspelt ENVIRONMENT
 * gets production's rules (URL guard, PUBLIC_BASE_URL required), never development's.
 */
export const isProduction = (env: Pick<Env, "ENVIRONMENT">): boolean => env.ENVIRONMENT !== "development";
