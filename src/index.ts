import { createApp } from "./app";
import type { Env } from "./env";
import { handleDispatchBatch } from "./pipeline/dispatch";
import { handleDispatchDeadLetters } from "./pipeline/dispatch/dead-letter";
import type { DispatchJob, WorkJob } from "./pipeline/jobs";
import { runScheduler } from "./pipeline/scheduler";
import { handleWorkBatch, handleWorkDeadLetters } from "./pipeline/work";

export { RateLimiter } from "./limits/durable-object";

const app = createApp();

export default {
  fetch: app.fetch,

  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduler(env, controller.scheduledTime));
  },

  async queue(batch, env, ctx) {
    switch (batch.queue) {
      case "herald-dispatch":
        return handleDispatchBatch(batch as MessageBatch<DispatchJob>, env, ctx);
      case "herald-dispatch-dlq":
        return handleDispatchDeadLetters(batch as MessageBatch<DispatchJob>, env);
      case "herald-work":
        return handleWorkBatch(batch as MessageBatch<WorkJob>, env, ctx);
      case "herald-work-dlq":
        return handleWorkDeadLetters(batch as MessageBatch<WorkJob>, env);
      default:
        console.error(JSON.stringify({ level: "error", message: `unknown queue ${batch.queue}` }));
        batch.retryAll();
    }
  },
} satisfies ExportedHandler<Env, DispatchJob | WorkJob>;
