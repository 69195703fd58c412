import type { D1Migration } from "cloudflare:test";
import type { Env as HeraldEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    // Merged with the generated `Cloudflare.Env` (worker-configuration.d.ts), whose queues are
    // `Queue<unknown>`: the narrowed queue types of src/env.ts are declared here, not inherited
    // (two bases with different property types cannot both be extended).
    interface Env extends HeraldEnv {
      TEST_MIGRATIONS: D1Migration[];
      DISPATCH_QUEUE: HeraldEnv["DISPATCH_QUEUE"];
      DISPATCH_DLQ: HeraldEnv["DISPATCH_DLQ"];
      WORK_QUEUE: HeraldEnv["WORK_QUEUE"];
      WORK_DLQ: HeraldEnv["WORK_DLQ"];
    }
  }
}
