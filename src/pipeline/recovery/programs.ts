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
import { leaseCutoff } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { enqueueWork } from "../enqueue";
import type { WorkJob } from "../jobs";
import { logTickFailure } from "../scheduler/parts";

/** Runs or builds resumed per tick (the rest wait a tick). */
const SWEEP_LIMIT = 200;

/** Runs still writing (`cursor` set) whose lease ran out: their continuation is sent again. */
export async function sweepRuns(env: Env, now: number): Promise<number> {
  const { results } = await env.DB.prepare(
    `UPDATE program_runs SET lease_until = ?1
     WHERE id IN (SELECT id FROM program_runs
                  WHERE cursor IS NOT NULL AND lease_until < ?2
                  ORDER BY lease_until LIMIT ?3)
     RETURNING id`,
  )
    .bind(iso(now), leaseCutoff(now), SWEEP_LIMIT)
    .all<{ id: string }>();
  await enqueueWork(
    env,
    results.map((r) => ({ kind: "run", runId: r.id })),
  );
  return results.length;
}

/** Due builds not finished whose lease ran out: their continuation is sent again. */
export async function sweepDueBuilds(env: Env, now: number): Promise<number> {
  const { results } = await env.DB.prepare(
    `UPDATE program_due_builds SET lease_until = ?1
     WHERE program_id IN (SELECT program_id FROM program_due_builds
                          WHERE cursor IS NOT NULL AND lease_until < ?2
                          ORDER BY lease_until LIMIT ?3)
     RETURNING program_id AS programId, tenant_id AS tenantId, build_id AS buildId`,
  )
    .bind(iso(now), leaseCutoff(now), SWEEP_LIMIT)
    .all<{ programId: string; tenantId: string; buildId: string }>();
  await enqueueWork(
    env,
    results.map((r) => ({ kind: "due", ...r })),
  );
  return results.length;
}

/**
 * The tick's program-work recovery: both sweeps, each isolated (one failing is logged and does not
 * stop the other, nor the rest of the tick; the next tick tries again). Never throws.
 */
export async function sweepProgramWork(env: Env, now: number): Promise<void> {
  for (const [name, sweep] of [
    ["runs", sweepRuns],
    ["due builds", sweepDueBuilds],
  ] as const) {
    try {
      const n = await sweep(env, now);
      if (n > 0)
        console.log(
          JSON.stringify({ level: "info", message: `program sweep re-enqueued ${name}`, count: n }),
        );
    } catch (err) {
      logTickFailure({ part: "program_work_sweep", step: name }, err);
    }
  }
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
