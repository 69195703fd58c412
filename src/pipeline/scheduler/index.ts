import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { purgeIdempotencyKeys } from "../../services/idempotency/keys";
import { sweepUnfiredContacts } from "../recovery/contacts";
import { sweepHookDeliveries, sweepWebhookDeliveries } from "../recovery/leases";
import { sweepOutbox } from "../recovery/outbox";
import { sweepDueBuilds, sweepOccurrencePages, sweepRuns } from "../recovery/programs";
import { purgeDeliveryLogs } from "../retention";
import { runTickParts } from "./parts";
import { tickPrograms } from "./programs";
import type { TickStats } from "./tick";

/**
 * The `* * * * *` cron: independent parts, each isolated (parts.ts). The recovery sweeps run
 * first, the outbox's (every tenant's) at the head, so they never wait on, or depend on, program
 * work; then the programs (programs.ts, each trigger kind in its own file: they select what is due
 * and hand it to the work queue in pages, whose consumers create the messages), then the purges. The
 * first tick ever looks back one minute, not to the epoch.
 */
export async function runScheduler(env: Env, scheduledTime: number): Promise<void> {
  const started = performance.now();
  const now = scheduledTime;
  const stats: TickStats = { rowsRead: 0, due: 0, pages: 0, programs: 0 };
  let from: number | null = null;
  const failed = await runTickParts([
    // Recovery sweeps: D1 is the truth, the queue a doorbell.
    { name: "outbox_sweep", run: () => sweepOutbox(env, now) },
    { name: "hook_delivery_sweep", run: () => sweepHookDeliveries(env, now) },
    { name: "webhook_delivery_sweep", run: () => sweepWebhookDeliveries(env, now) },
    { name: "contact_created_sweep", run: () => sweepUnfiredContacts(env, now) },
    { name: "run_sweep", run: () => sweepRuns(env, now) },
    { name: "due_build_sweep", run: () => sweepDueBuilds(env, now) },
    { name: "occurrence_page_sweep", run: () => sweepOccurrencePages(env, now) },
    // Programs: every occurrence due in the window.
    {
      name: "programs",
      run: async () => {
        from = await tickPrograms(env, now, stats);
      },
    },
    // Purges.
    { name: "idempotency_purge", run: () => purgeIdempotencyKeys(env.DB, now) },
    { name: "delivery_log_purge", run: () => purgeDeliveryLogs(env.DB, now) },
  ]);
  console.log(
    JSON.stringify({
      level: "info",
      message: "scheduler tick",
      scheduled_time: iso(now),
      window_from: from === null ? null : iso(from),
      programs: stats.programs,
      due: stats.due,
      pages: stats.pages,
      rows_read: stats.rowsRead,
      failed_parts: failed,
      duration_ms: Math.round(performance.now() - started),
    }),
  );
}
