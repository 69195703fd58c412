/**
 * Builds of a materialised program's due rows (program created, trigger changed, paused, resumed,
 * archived). D1 holds each build: one `program_due_builds` row per program with the version it is
 * for, its cursor and a lease, written in the same batch as the program change that starts it. The
 * first pages are written in the request; the rest by work-queue jobs that carry only the build's
 * identity and read the cursor from D1. A lost job (the send failed, the process died) is found by
 * the scheduler tick once the lease ran out (pipeline/recovery/programs.ts). Every step is
 * idempotent: rows already there are kept, and the cursor moves only from where a step started.
 */

import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { ProgramRow } from "../../db/rows";
import { contacts, programDue, programDueBuilds, programs } from "../../db/schema";
import { claimedLease } from "../../domain/rules/lease";
import { newId } from "../../lib/ids";
import { iso, nowIso } from "../../lib/time";
import type { DueBuild, DueJob } from "../../pipeline/jobs";
import type { ServiceContext } from "../context";
import { DUE_INSERT, DUE_PAGE, type DueRow, dueFor, isMaterialised } from "./due";
import { loadTenant } from "./scope";

/** Pages of contacts whose due rows a (re)build writes inside the request; the rest go to the work queue. */
export const DUE_INLINE_PAGES = 4;
/** Pages one work-queue job writes before it hands the rest to the next job. */
export const DUE_JOB_PAGES = 20;

type BuildRow = typeof programDueBuilds.$inferSelect;

/**
 * The statements that start a rebuild of `program`'s due rows, to run in one `db.batch()` with the
 * program write itself: its rows cleared and, when it is materialised, a fresh build row (cursor at
 * the start, leased to this request). Returns them with the build to start once the batch committed.
 */
export function dueBuildStatements(
  ctx: ServiceContext,
  program: ProgramRow,
): { statements: BatchItem<"sqlite">[]; build: BuildRow | null } {
  const clear = ctx.db.delete(programDue).where(eq(programDue.programId, program.id));
  if (!isMaterialised(program)) {
    return {
      statements: [clear, ctx.db.delete(programDueBuilds).where(eq(programDueBuilds.programId, program.id))],
      build: null,
    };
  }
  const now = Date.now();
  const build: BuildRow = {
    programId: program.id,
    tenantId: ctx.tenantId,
    buildId: newId("dueBuild"),
    trigger: JSON.stringify(program.trigger),
    activatedAt: program.activatedAt,
    armedAt: iso(now),
    nowMs: now,
    cursor: "",
    leaseUntil: claimedLease(now),
    createdAt: iso(now),
    updatedAt: iso(now),
  };
  const { programId: _id, createdAt: _created, ...replace } = build;
  const upsert = ctx.db
    .insert(programDueBuilds)
    .values(build)
    .onConflictDoUpdate({ target: programDueBuilds.programId, set: replace });
  return { statements: [clear, upsert], build };
}

/**
 * Writes a started build's first pages inside the request. A failure here is logged, not thrown:
 * the program change is committed and the build row's lease hands the rest to the sweep.
 */
export async function startDueBuild(ctx: ServiceContext, program: ProgramRow, build: BuildRow | null) {
  if (!build) return;
  try {
    await stepBuild(ctx, program, build, DUE_INLINE_PAGES);
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "due build: inline pages failed; the sweep resumes it",
        program_id: program.id,
        error: String(err),
      }),
    );
  }
}

/**
 * Work-queue continuation of a build (also what the sweep enqueues). Idempotent: a finished or
 * replaced build does nothing, rows already there are kept, and a build whose program changed
 * since stops.
 */
export async function continueDueBuild(ctx: ServiceContext, job: DueJob): Promise<void> {
  const row = await ctx.db
    .select()
    .from(programDueBuilds)
    .where(and(eq(programDueBuilds.tenantId, ctx.tenantId), eq(programDueBuilds.programId, job.programId)))
    .get();
  const program = await ctx.db
    .select()
    .from(programs)
    .where(and(eq(programs.tenantId, ctx.tenantId), eq(programs.id, job.programId)))
    .get();
  if (!row) {
    if ("after" in job && program && isCurrent(program, job)) await continueLegacy(ctx, program, job);
    return;
  }
  if (row.cursor === null || ("buildId" in job && job.buildId !== row.buildId)) return;
  if (!program || !isCurrent(program, asBuild(row, row.cursor))) {
    await moveCursor(ctx, row, row.cursor, null);
    return;
  }
  // This job holds the build while it writes (a sweep during a long step finds a live lease).
  await ctx.db
    .update(programDueBuilds)
    .set({ leaseUntil: claimedLease(Date.now()) })
    .where(and(eq(programDueBuilds.programId, row.programId), eq(programDueBuilds.buildId, row.buildId)));
  await stepBuild(ctx, program, row, DUE_JOB_PAGES);
}

/** One step: up to `maxPages` pages from the row's cursor, then the cursor moved and the next job sent. */
async function stepBuild(ctx: ServiceContext, program: ProgramRow, row: BuildRow, maxPages: number) {
  const from = row.cursor ?? "";
  const next = await writeDuePages(ctx, program, asBuild(row, from), maxPages);
  const moved = await moveCursor(ctx, row, from, next);
  if (moved && next !== null)
    await ctx.env.WORK_QUEUE.send({
      kind: "due",
      tenantId: row.tenantId,
      programId: row.programId,
      buildId: row.buildId,
    });
}

/** Moves the build's cursor only from where this step started: a repeated step cannot move it back. */
async function moveCursor(ctx: ServiceContext, row: BuildRow, from: string, next: string | null) {
  const moved = await ctx.db
    .update(programDueBuilds)
    .set({
      cursor: next,
      leaseUntil: next === null ? null : claimedLease(Date.now()),
      updatedAt: nowIso(),
    })
    .where(
      and(
        eq(programDueBuilds.programId, row.programId),
        eq(programDueBuilds.buildId, row.buildId),
        eq(programDueBuilds.cursor, from),
      ),
    )
    .returning({ id: programDueBuilds.programId })
    .all();
  return moved.length > 0;
}

/** A message of a build started before builds were stored: continued as it was then. */
async function continueLegacy(ctx: ServiceContext, program: ProgramRow, build: DueBuild) {
  const after = await writeDuePages(ctx, program, build, DUE_JOB_PAGES);
  if (after !== null) await ctx.env.WORK_QUEUE.send({ kind: "due", ...build, after });
}

const asBuild = (row: BuildRow, after: string): DueBuild => ({
  tenantId: row.tenantId,
  programId: row.programId,
  trigger: row.trigger,
  activatedAt: row.activatedAt,
  armedAt: row.armedAt,
  now: row.nowMs,
  after,
});

const isCurrent = (p: ProgramRow, build: DueBuild): boolean =>
  isMaterialised(p) && JSON.stringify(p.trigger) === build.trigger && p.activatedAt === build.activatedAt;

/**
 * Adds a build's due rows. Kept on conflict: a row already there was re-armed by a contact change
 * since the build began (fresher), or written by this same page before (a redelivered job).
 * Written only while the program is still the version the build is for.
 */
async function addBuiltDue(ctx: ServiceContext, build: DueBuild, rows: DueRow[]): Promise<void> {
  await ctx.env.DB.prepare(
    `${DUE_INSERT}
      WHERE EXISTS (SELECT 1 FROM programs p WHERE p.id = ?1 AND p.status = 'active'
                      AND p.trigger = ?5 AND p.activated_at IS ?6)
     ON CONFLICT (program_id, contact_id) DO NOTHING`,
  )
    .bind(
      build.programId,
      ctx.tenantId,
      build.armedAt,
      JSON.stringify(rows),
      build.trigger,
      build.activatedAt,
    )
    .run();
}

/** Writes up to `maxPages` pages of due rows after `build.after`; the cursor to go on from, or null when done. */
async function writeDuePages(
  ctx: ServiceContext,
  program: ProgramRow,
  build: DueBuild,
  maxPages: number,
): Promise<string | null> {
  const tenant = await loadTenant(ctx);
  const t = program.trigger;
  const hasField: SQL | undefined =
    t.type === "date"
      ? sql`json_extract(${contacts.attributes}, ${`$.${t.field.slice("attributes.".length)}`}) IS NOT NULL`
      : undefined;
  let after = build.after;
  for (let i = 0; i < maxPages; i++) {
    const page = await ctx.db
      .select({ id: contacts.id, timezone: contacts.timezone, attributes: contacts.attributes })
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), gt(contacts.id, after), hasField))
      .orderBy(asc(contacts.id))
      .limit(DUE_PAGE)
      .all();
    const rows: DueRow[] = [];
    for (const c of page) {
      const due = dueFor(program, c, tenant, build.now);
      if (due) rows.push({ c: c.id, d: due.dueAt, o: due.occurrence });
    }
    if (rows.length > 0) await addBuiltDue(ctx, build, rows);
    const last = page.at(-1);
    if (!last || page.length < DUE_PAGE) return null;
    after = last.id;
  }
  return after;
}
