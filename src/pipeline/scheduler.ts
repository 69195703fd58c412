import { and, eq, inArray } from "drizzle-orm";
import { createDb } from "../db/client";
import { programs } from "../db/schema";
import type { Env } from "../env";
import { iso } from "../lib/time";
import { purgeIdempotencyKeys } from "../middleware/idempotency";
import { serviceContext } from "../services/context";
import { loadTenant, type ProgramRow, type TenantRow } from "../services/programs/scope";
import { sweepOutbox } from "./dispatch";
import { MAX_CATCH_UP_MS, type TickStats, tickProgram } from "./program-tick";
import { sweepUnfiredContacts } from "./recovery/contacts";
import { sweepLeases } from "./recovery/leases";
import { sweepProgramWork } from "./recovery/programs";
import { purgeDeliveryLogs } from "./retention";
import {
  oweWindow,
  programWindowStart,
  readLastTick,
  readOwedWindows,
  settleWindows,
  writeLastTick,
} from "./scheduler-window";
import { logTickFailure, runTickParts } from "./tick-parts";

const ACTIVE = and(eq(programs.status, "active"), inArray(programs.triggerType, ["date", "schedule"]));

interface TenantPrograms {
  ids: string[];
  /** The tenant's active date and schedule programs (throws when one of its rows does not load). */
  load: () => Promise<ProgramRow[]>;
}

/**
 * Active date and schedule programs by tenant: one read for all of them; should a stored row not
 * load (say, JSON that does not parse), each tenant's are read on their own, so that only the
 * tenant holding the bad row is skipped.
 */
async function activeProgramsByTenant(env: Env): Promise<Map<string, TenantPrograms>> {
  const db = createDb(env.DB);
  const out = new Map<string, TenantPrograms>();
  try {
    const all = (await db.select().from(programs).where(ACTIVE).all()) as ProgramRow[];
    const byTenant = new Map<string, ProgramRow[]>();
    for (const p of all) byTenant.set(p.tenantId, [...(byTenant.get(p.tenantId) ?? []), p]);
    for (const [tenantId, list] of byTenant)
      out.set(tenantId, { ids: list.map((p) => p.id), load: async () => list });
    return out;
  } catch (err) {
    logTickFailure({ step: "load_programs" }, err);
  }
  const ids = await db
    .select({ id: programs.id, tenantId: programs.tenantId })
    .from(programs)
    .where(ACTIVE)
    .all();
  for (const { id, tenantId } of ids) {
    const load = async () =>
      (await db
        .select()
        .from(programs)
        .where(and(ACTIVE, eq(programs.tenantId, tenantId)))
        .all()) as ProgramRow[];
    out.set(tenantId, { ids: [...(out.get(tenantId)?.ids ?? []), id], load });
  }
  return out;
}

/**
 * The programs part of a tick: every occurrence due in (last tick, now] that is still inside its
 * validity, so a missed or late tick delays messages and never loses them. Each tenant and each
 * program is isolated: one that throws is logged and skipped, the others go on, and the shared
 * window still moves forward; the failed program alone owes its window and looks back to it on
 * the next ticks until it succeeds (occurrence keys make the repeat create nothing twice).
 * Returns the start of the shared window (null when there was nothing to do).
 */
async function tickPrograms(env: Env, now: number, stats: TickStats): Promise<number | null> {
  const last = await readLastTick(env);
  const from = Math.max(last ?? now - 60_000, now - MAX_CATCH_UP_MS);
  if (from >= now) return null;
  const [byTenant, owed] = await Promise.all([activeProgramsByTenant(env), readOwedWindows(env)]);
  const startOf = (id: string) => Math.max(programWindowStart(from, owed.get(id)), now - MAX_CATCH_UP_MS);
  const settled: string[] = [];
  let unrecorded = 0;
  const owe = async (tenantId: string, programId: string, err: unknown) => {
    logTickFailure({ tenant_id: tenantId, program_id: programId }, err);
    try {
      await oweWindow(env, programId, startOf(programId));
    } catch (writeErr) {
      unrecorded += 1;
      logTickFailure({ tenant_id: tenantId, program_id: programId, step: "owe_window" }, writeErr);
    }
  };
  for (const [tenantId, entry] of byTenant) {
    const ctx = serviceContext(env, tenantId);
    let tenant: TenantRow;
    let list: ProgramRow[];
    try {
      [tenant, list] = await Promise.all([loadTenant(ctx), entry.load()]);
    } catch (err) {
      stats.programs += entry.ids.length;
      for (const id of entry.ids) await owe(tenantId, id, err);
      continue;
    }
    for (const p of list) {
      stats.programs += 1;
      try {
        await tickProgram({ ctx, tenant, from: startOf(p.id), now, stats }, p);
        if (owed.has(p.id)) settled.push(p.id);
      } catch (err) {
        await owe(tenantId, p.id, err);
      }
    }
  }
  // A program that stopped being active owes nothing (what fell due while paused is skipped).
  const active = new Set([...byTenant.values()].flatMap((e) => e.ids));
  for (const id of owed.keys()) if (!active.has(id)) settled.push(id);
  await settleWindows(env, settled);
  // Only when a failure could not be recorded does the shared window stay open (nothing is lost).
  if (unrecorded === 0) await writeLastTick(env, now);
  return from;
}

/**
 * The `* * * * *` cron: independent parts, each isolated (tick-parts.ts). The outbox recovery
 * sweep (every tenant's) runs first, so it never waits on, or depends on, program work; then the
 * programs (tickPrograms), then the purges. The first tick ever looks back one minute, not to the
 * epoch.
 */
export async function runScheduler(env: Env, scheduledTime: number): Promise<void> {
  const started = performance.now();
  const now = scheduledTime;
  const stats: TickStats = { rowsRead: 0, due: 0, programs: 0 };
  let from: number | null = null;
  const failed = await runTickParts([
    { name: "outbox_sweep", run: () => sweepOutbox(env, now) },
    { name: "lease_sweep", run: () => sweepLeases(env, now) },
    { name: "contact_created_sweep", run: () => sweepUnfiredContacts(env, now) },
    { name: "program_work_sweep", run: () => sweepProgramWork(env, now) },
    {
      name: "programs",
      run: async () => {
        from = await tickPrograms(env, now, stats);
      },
    },
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
      rows_read: stats.rowsRead,
      failed_parts: failed,
      duration_ms: Math.round(performance.now() - started),
    }),
  );
}
