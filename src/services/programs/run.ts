import { and, eq } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { ProgramRow } from "../../db/rows";
import { programRuns, programs } from "../../db/schema";
import { claimedLease } from "../../domain/rules/lease";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import type { Env } from "../../env";
import { derivedId, newId } from "../../lib/ids";
import { HttpProblem } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import { type ServiceContext, serviceContext } from "../context";
import { countAudience, forEachAudiencePage } from "./audience";
import { createOccurrenceMessages } from "./execute";
import { getProgram } from "./programs";
import { loadTenant } from "./scope";

/** Messages written per createMessages call: one page of the audience. */
export const RUN_PAGE = 100;
/** Pages written inside the request: small audiences are fully written when the 202 answers. */
export const RUN_INLINE_PAGES = 10;
/** Pages per work-queue job for the rest of a large audience. */
export const RUN_JOB_PAGES = 50;
/**
 * One step of a run (the request's pages, one job) holds it for the one lease (domain/rules/lease.ts).
 * A run still writing whose lease is more than that past lost its continuation: the scheduler tick
 * sends it again (pipeline/recovery/programs.ts).
 */
const leaseFromNow = (): string => claimedLease(Date.now());

/**
 * `POST /v1/programs/{id}/run`: one message per audience contact, written in pages. The first
 * pages are written in the request; a larger audience continues on the work queue from the run's
 * cursor. The occurrence key `pg:run:ct` makes a retried page, a redelivered job or a replayed
 * request write nothing twice. The cursor and a lease are in D1: a continuation that was lost (the
 * send failed, the process died) is sent again by the scheduler tick. With an Idempotency-Key the run id is derived from it, so a retry
 * after a partial failure finds the same run (as first counted) and continues it from its cursor.
 */
export async function runProgram(
  ctx: ServiceContext,
  id: string,
  opts: { idempotencyKey?: string | null } = {},
): Promise<{ run_id: string; audience_count: number }> {
  const program = await getProgram(ctx, id);
  if (program.status !== "active")
    throw new HttpProblem("conflict", `This program is ${program.status}; only an active program can run`);
  const runId = opts.idempotencyKey
    ? await derivedId("run", ctx.tenantId, program.id, opts.idempotencyKey)
    : newId("run");
  const audienceCount = await countAudience(ctx, program);
  const now = nowIso();
  // A known run is returned as stored (its count, its cursor) instead of being inserted again.
  const run = await ctx.env.DB.prepare(
    `INSERT INTO program_runs (id, tenant_id, program_id, audience_count, cursor, lease_until, completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, '', ?, NULL, ?, ?)
     ON CONFLICT (id) DO UPDATE SET
       lease_until = CASE WHEN program_runs.cursor IS NULL THEN NULL ELSE excluded.lease_until END
     RETURNING audience_count AS audienceCount, cursor`,
  )
    .bind(runId, ctx.tenantId, program.id, audienceCount, leaseFromNow(), now, now)
    .first<{ audienceCount: number; cursor: string | null }>();
  if (!run) throw new Error("the run insert returned no row");
  if (run.cursor !== null) await writeRunPages(ctx, program, runId, run.cursor, RUN_INLINE_PAGES);
  return { run_id: runId, audience_count: run.audienceCount };
}

/** Work-queue job: the next pages of a run (a finished, unknown or no-longer-active run does nothing). */
export async function continueRun(env: Env, runId: string): Promise<void> {
  const run = await createDb(env.DB).query.programRuns.findFirst({ where: eq(programRuns.id, runId) });
  if (!run || run.cursor === null) return;
  const ctx = serviceContext(env, run.tenantId);
  const program = await ctx.db.query.programs.findFirst({
    where: and(eq(programs.id, run.programId), eq(programs.tenantId, run.tenantId)),
  });
  if (program?.status !== "active") {
    await finishRun(ctx, runId, run.cursor);
    return;
  }
  // This job holds the run while it writes (a sweep during a long job finds a live lease).
  await ctx.db
    .update(programRuns)
    .set({ leaseUntil: leaseFromNow() })
    .where(and(eq(programRuns.id, runId), eq(programRuns.cursor, run.cursor)));
  await writeRunPages(ctx, program, runId, run.cursor, RUN_JOB_PAGES);
}

async function writeRunPages(
  ctx: ServiceContext,
  program: ProgramRow,
  runId: string,
  after: string,
  maxPages: number,
): Promise<void> {
  const tenant = await loadTenant(ctx);
  const next = await forEachAudiencePage(
    ctx,
    program,
    RUN_PAGE,
    async (page) => {
      await createOccurrenceMessages(
        ctx,
        program,
        tenant,
        page.map((contact) => ({
          contact,
          occurrenceKey: occurrenceKey.manualRun(program.id, runId, contact.id),
          runId,
        })),
      );
    },
    { after, maxPages },
  );
  if (next === null) {
    await finishRun(ctx, runId, after);
    return;
  }
  // Moves the cursor only from where this job started: a redelivered job cannot move it back.
  const moved = await ctx.db
    .update(programRuns)
    .set({ cursor: next, leaseUntil: leaseFromNow(), updatedAt: nowIso() })
    .where(and(eq(programRuns.id, runId), eq(programRuns.cursor, after)))
    .returning({ id: programRuns.id })
    .all();
  if (moved.length > 0) await ctx.env.WORK_QUEUE.send({ kind: "run", runId });
}

async function finishRun(ctx: ServiceContext, runId: string, from: string): Promise<void> {
  await ctx.db
    .update(programRuns)
    .set({ cursor: null, leaseUntil: null, completedAt: nowIso(), updatedAt: nowIso() })
    .where(and(eq(programRuns.id, runId), eq(programRuns.cursor, from)));
}
