import type { Env } from "../env";
import { processHookDelivery } from "../hooks/process";
import { serviceContext } from "../services/context";
import { deadHookDeliveriesStatement } from "../services/integrations/hook-deliveries";
import { continueDueBuild } from "../services/programs/due-build";
import { continueOccurrencePage } from "../services/programs/occurrence-pages";
import { continueRun } from "../services/programs/run";
import { attemptWebhookDelivery, deadWebhookDeliveriesStatement } from "../services/webhooks/deliver";
import type { WorkJob } from "./jobs";
import { expireProgramLeases } from "./recovery/programs";

/**
 * Work queue consumer: storefront hook deliveries, outbound webhook attempts, the rest of large
 * program runs and of large programs' due rows, the pages of occurrences the scheduler tick found
 * due (their messages are created here, not in the tick). Each job is
 * idempotent (it claims its row first), so a redelivered queue message does nothing new.
 * Webhook retries are new jobs with `delaySeconds` (acked here), not `retry()`: a 24-hour
 * backoff schedule must not count against the queue's `max_retries`.
 */
export async function handleWorkBatch(
  batch: MessageBatch<WorkJob>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (msg) => {
      try {
        const job = msg.body;
        if (job.kind === "hook") {
          const result = await processHookDelivery(env, job.deliveryId);
          if (result === "busy") {
            msg.retry({ delaySeconds: 30 });
            return;
          }
        } else if (job.kind === "webhook") {
          const outcome = await attemptWebhookDelivery(env, job.deliveryId);
          if (outcome.outcome === "retry") {
            await env.WORK_QUEUE.send(job, { delaySeconds: outcome.delaySeconds });
          }
        } else if (job.kind === "run") {
          await continueRun(env, job.runId);
        } else if (job.kind === "due") {
          await continueDueBuild(serviceContext(env, job.tenantId), job);
        } else if (job.kind === "occurrences") {
          await continueOccurrencePage(serviceContext(env, job.tenantId), job.pageId);
        }
        msg.ack();
      } catch (err) {
        console.error(
          JSON.stringify({ level: "error", message: "work job failed", job: msg.body, error: String(err) }),
        );
        msg.retry({ delaySeconds: Math.min(300, 5 * 2 ** Math.min(msg.attempts, 6)) });
      }
    }),
  );
}

/**
 * Work dead letters: the job exhausted its retries. A hook or webhook row is marked failed so the
 * log says so; a run or due-build continuation, or an occurrence page, ends its lease, so the sweep
 * resumes it (from its cursor; the page whole, its occurrence keys keep what was created).
 */
export async function handleWorkDeadLetters(batch: MessageBatch<WorkJob>, env: Env): Promise<void> {
  const now = new Date().toISOString();
  const idsOf = (kind: "hook" | "webhook") =>
    batch.messages.flatMap((m) => (m.body.kind === kind ? [m.body.deliveryId] : []));
  const hooks = idsOf("hook");
  const webhooks = idsOf("webhook");
  const statements = expireProgramLeases(
    env,
    batch.messages.map((m) => m.body),
    now,
  );
  if (hooks.length > 0) {
    statements.push(deadHookDeliveriesStatement(env, hooks, now));
  }
  if (webhooks.length > 0) {
    statements.push(deadWebhookDeliveriesStatement(env, webhooks, now));
  }
  if (statements.length > 0) await env.DB.batch(statements);
  batch.ackAll();
}
