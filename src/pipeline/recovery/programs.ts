/**
 * Lease recovery for program work that spans several queue jobs (PRODUCT.md: acknowledged means
 * durable): `/run`s still writing and builds of due rows not yet finished. Each keeps its cursor
 * and a lease in D1; the queue message is only a doorbell. A run or build whose lease ran out more
 * than `LEASE_MS` ago lost its continuation (the send failed, the process died, the job was
 * dead-lettered), so the tick sends it again, with a fresh lease (`now`) so that it is swept once
 * more only if this message is lost too. Continuing is idempotent: occurrence keys for runs, kept
 * rows and build identity for due builds, and cursors that move only from where a step started.
 *
 * Writes D1: moves the leases of the runs and due builds it re-enqueues, or ends them (dead letters).
 */
import { IN_JSON_LIST } from "../../db/json-list";
import type { Env } from "../../env";
import { enqueueWork } from "../enqueue";
import type { WorkJob } from "../jobs";
import { releaseInPages } from "./release";

/** Runs or builds resumed per tick (the rest wait a tick). */
const PAGE = { page: 200, maxPages: 1 };

/** Runs still writing (`cursor` set) whose lease ran out: their continuation is sent again. */
export function sweepRuns(env: Env, now: number): Promise<number> {
  return releaseInPages<{ id: string }>(
    env,
    `UPDATE program_runs SET lease_until = ?1
     WHERE id IN (SELECT id FROM program_runs
                  WHERE cursor IS NOT NULL AND lease_until < ?2
                  ORDER BY lease_until LIMIT ?3)
     RETURNING id`,
    now,
    (rows) =>
      enqueueWork(
        env,
        rows.map((r) => ({ kind: "run", runId: r.id })),
      ),
    PAGE,
  );
}

/** Due builds not finished whose lease ran out: their continuation is sent again. */
export function sweepDueBuilds(env: Env, now: number): Promise<number> {
  return releaseInPages<{ programId: string; tenantId: string; buildId: string }>(
    env,
    `UPDATE program_due_builds SET lease_until = ?1
     WHERE program_id IN (SELECT program_id FROM program_due_builds
                          WHERE cursor IS NOT NULL AND lease_until < ?2
                          ORDER BY lease_until LIMIT ?3)
     RETURNING program_id AS programId, tenant_id AS tenantId, build_id AS buildId`,
    now,
    (rows) =>
      enqueueWork(
        env,
        rows.map((r) => ({ kind: "due", ...r })),
      ),
    PAGE,
  );
}

/**
 * Dead-lettered run and build continuations: their lease is ended now, so the sweep sends them
 * again after `LEASE_MS` instead of waiting out the rest of the lease. Nothing is given up: the
 * rows stay the truth, and the next attempt continues from their cursor.
 */
export function expireProgramLeases(env: Env, jobs: WorkJob[], now: string): D1PreparedStatement[] {
  const runs = jobs.flatMap((j) => (j.kind === "run" ? [j.runId] : []));
  const builds = jobs.flatMap((j) => (j.kind === "due" ? [j.programId] : []));
  const out: D1PreparedStatement[] = [];
  if (runs.length > 0)
    out.push(
      env.DB.prepare(
        `UPDATE program_runs SET lease_until = ?
         WHERE id IN ${IN_JSON_LIST} AND cursor IS NOT NULL AND lease_until > ?`,
      ).bind(now, JSON.stringify(runs), now),
    );
  if (builds.length > 0)
    out.push(
      env.DB.prepare(
        `UPDATE program_due_builds SET lease_until = ?
         WHERE program_id IN ${IN_JSON_LIST} AND cursor IS NOT NULL AND lease_until > ?`,
      ).bind(now, JSON.stringify(builds), now),
    );
  return out;
}
