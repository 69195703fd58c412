/**
 * The programs part of the tick: which active date and schedule programs run, over which window
 * (the shared one, or the older one a program still owes: window.ts), in which order (strikes),
 * each isolated from the others. What one program's share is depends on its trigger (triggers.ts).
 */
import { and, eq, inArray } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { ProgramRow, TenantRow } from "../../db/rows";
import { programs } from "../../db/schema";
import type { Env } from "../../env";
import { serviceContext } from "../../services/context";
import { loadTenant } from "../../services/programs/scope";
import { logTickFailure } from "./parts";
import { MAX_CATCH_UP_MS, type TickStats } from "./tick";
import { tickProgram } from "./triggers";
import {
  addStrike,
  oweWindow,
  oweWindows,
  programWindowStart,
  readLastTick,
  readOwedWindows,
  readStrikes,
  settleWindows,
  writeLastTick,
} from "./window";

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
 * program is isolated:
 * - every active program's window is owed before any runs, and the shared window moves on at
 *   once, so even a tick killed half-way (the CPU limit, a crash) loses nothing and holds no one:
 *   each program it did not finish looks back to its own owed window on the next ticks;
 * - programs that owed nothing run first; owed ones run after them, fewest strikes first (a
 *   strike is written before each such start), so a program that keeps failing or killing the
 *   tick goes after everyone else's work;
 * - one that throws is logged and skipped, the others go on (occurrence keys make repeats create
 *   nothing twice).
 * Returns the start of the shared window (null when there was nothing to do).
 */
export async function tickPrograms(env: Env, now: number, stats: TickStats): Promise<number | null> {
  const last = await readLastTick(env);
  const from = Math.max(last ?? now - 60_000, now - MAX_CATCH_UP_MS);
  if (from >= now) return null;
  const [byTenant, owed, strikes] = await Promise.all([
    activeProgramsByTenant(env),
    readOwedWindows(env),
    readStrikes(env),
  ]);
  const startOf = (id: string) => Math.max(programWindowStart(from, owed.get(id)), now - MAX_CATCH_UP_MS);
  const active = [...byTenant].flatMap(([tenantId, e]) => e.ids.map((id) => ({ tenantId, id })));
  // Owe first; if that write fails, fall back to owing each failure as it happens.
  let owedAhead = true;
  try {
    await oweWindows(env, new Map(active.map((a) => [a.id, startOf(a.id)])));
    await writeLastTick(env, now);
  } catch (err) {
    owedAhead = false;
    logTickFailure({ step: "owe_windows" }, err);
  }
  let unrecorded = 0;
  const owe = async (tenantId: string, programId: string, err: unknown) => {
    logTickFailure({ tenant_id: tenantId, program_id: programId }, err);
    if (owedAhead) return;
    try {
      await oweWindow(env, programId, startOf(programId));
    } catch (writeErr) {
      unrecorded += 1;
      logTickFailure({ tenant_id: tenantId, program_id: programId, step: "owe_window" }, writeErr);
    }
  };
  const loaded = new Map<string, Promise<{ tenant: TenantRow; list: Map<string, ProgramRow> }>>();
  const load = (tenantId: string) => {
    const entry = byTenant.get(tenantId) as TenantPrograms;
    const ctx = serviceContext(env, tenantId);
    if (!loaded.has(tenantId))
      loaded.set(
        tenantId,
        Promise.all([loadTenant(ctx), entry.load()]).then(([tenant, list]) => ({
          tenant,
          list: new Map(list.map((p) => [p.id, p])),
        })),
      );
    return loaded.get(tenantId) as Promise<{ tenant: TenantRow; list: Map<string, ProgramRow> }>;
  };
  /** Ticks one program; true when it got through. */
  const run = async (tenantId: string, id: string): Promise<boolean> => {
    stats.programs += 1;
    try {
      const { tenant, list } = await load(tenantId);
      const p = list.get(id);
      if (p)
        await tickProgram({ ctx: serviceContext(env, tenantId), tenant, from: startOf(id), now, stats }, p);
      return true;
    } catch (err) {
      await owe(tenantId, id, err);
      return false;
    }
  };

  const settled: string[] = [];
  for (const a of active.filter((x) => !owed.has(x.id)))
    if ((await run(a.tenantId, a.id)) && owedAhead) settled.push(a.id);
  await settleWindows(env, settled);
  const suspects = active
    .filter((x) => owed.has(x.id))
    .sort((x, y) => (strikes.get(x.id) ?? 0) - (strikes.get(y.id) ?? 0));
  for (const a of suspects) {
    await addStrike(env, a.id);
    if (await run(a.tenantId, a.id)) await settleWindows(env, [a.id]);
  }
  // A program that stopped being active owes nothing (what fell due while paused is skipped).
  const activeIds = new Set(active.map((a) => a.id));
  await settleWindows(
    env,
    [...owed.keys()].filter((id) => !activeIds.has(id)),
  );
  // Only when a failure could not be recorded does the shared window stay open (nothing is lost).
  if (!owedAhead && unrecorded === 0) await writeLastTick(env, now);
  return from;
}
