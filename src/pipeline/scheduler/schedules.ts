// Writes D1: moves `programs.next_run_at` on once a fixed-zone run is written (a compare-and-set).
import { and, eq } from "drizzle-orm";
import { programs } from "../../db/schema";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import { cronRunsBetween, nextCron } from "../../domain/schedule";
import { iso } from "../../lib/time";
import { forEachAudiencePage } from "../../services/programs/audience";
import { queueOccurrences, SCHEDULER_PAGE, sendable, type TriggerTick } from "./tick";

/** A schedule in one fixed zone: `programs.next_run_at` says when; the audience is written in pages. */
export const tickSchedules: TriggerTick = async (tick, p) => {
  if (p.trigger.type !== "schedule" || !p.nextRunAt) return;
  const planned = Date.parse(p.nextRunAt);
  if (planned > tick.now) return;
  const runs = cronRunsBetween(p.trigger.cron, p.trigger.timezone, planned - 1, tick.now);
  // After an outage only the latest run still inside its validity is sent, not a burst of stale ones.
  const run = runs.filter((t) => sendable(p, t, tick.now, [])).at(-1);
  if (run !== undefined) {
    const runIso = iso(run);
    await forEachAudiencePage(tick.ctx, p, SCHEDULER_PAGE, async (page) => {
      tick.stats.rowsRead += page.length;
      await queueOccurrences(
        tick,
        p,
        page.map((contact) => ({
          contactId: contact.id,
          occurrenceKey: occurrenceKey.scheduleRun(p.id, runIso, contact.id),
          sendAt: runIso,
        })),
      );
    });
  }
  const next = nextCron(p.trigger.cron, p.trigger.timezone, tick.now);
  await tick.ctx.db
    .update(programs)
    .set({ nextRunAt: next === null ? null : iso(next) })
    .where(and(eq(programs.id, p.id), eq(programs.nextRunAt, p.nextRunAt)));
};
