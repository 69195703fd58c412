import { createApp } from "./app";
import type { Env } from "./env";
import type { DispatchJob, WorkJob } from "./pipeline/jobs";

export { RateLimiter } from "./limits/rate-limiter";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, _env, _ctx) {},
  async queue(_batch, _env, _ctx) {},
} satisfies ExportedHandler<Env, DispatchJob | WorkJob>;
