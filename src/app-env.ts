import type { AuthContext, Env } from "./env";
import type { BaseContext, ServiceContext } from "./services/context";

/** The Hono environment of the HTTP app: bindings and what middleware sets per request. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    auth: AuthContext;
    /** Bindings, one database handle and waitUntil, built once per request (middleware/services.ts). */
    baseServices: BaseContext;
    /** `baseServices` acting for the API key's tenant: set by requireApiKey once the tenant is known. */
    services: ServiceContext;
  };
};
