import type { D1Migration } from "cloudflare:test";
import type { Env as HeraldEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends HeraldEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
