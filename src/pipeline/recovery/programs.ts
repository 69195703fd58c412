/**
 * Lease recovery for program work that spans several queue jobs (PRODUCT.md: acknowledged means
 * durable): `/run`s still writing, builds of due rows not yet finished, and pages of due
 * occurrences the scheduler tick handed to the work queue. Each keeps its cursor
 * and a lease in D1; the queue message is only a doorbell. A run or build whose lease ran out more
 * than `LEASE_MS` ago lost its continuation (the send failed, the process died, the job was
 * dead-lettered), so the tick sends it again, with a fresh lease (`now`) so that it is swept once
 * more only if this message is lost too. Continuing is idempotent: occurrence keys for runs, kept
 * rows and build identity for due builds, and cursors that move only from where a step started.
 *
 * Writes D1: moves the leases of the runs, due builds and occurrence pages it re-enqueues, or ends them (dead letters).
 */
import { IN_JSON_LIST } from "../../db/json-list";
import type { Env } from "../../env";
import { enqueueWork } from "../enqueue";
import type { WorkJob } from "../jobs";
import { releaseInPages } from "./release";

/** Runs or builds resumed per tick (the rest wait a tick). */
const PAGE = { page: 200, maxPages: 1 };
/** Occurrence pages rung again per tick: up to 1,000 pages (100,000 occurrences); the rest wait a tick. */
const OCCURRENCE_PAGES = { page: 100, maxPages: 10 };

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
 * Occurrence pages (the tick's due occurrences, handed to the work queue) whose lease ran out: the
 * queue message was lost, its send failed, or the consumer died mid-page. Their job is sent again;
 * creating the page's messages once more creates nothing twice (occurrence keys).
 */
export function sweepOccurrencePages(env: Env, now: number): Promise<number> {
  return releaseInPages<{ tenantId: string; pageId: string }>(
    env,
    `UPDATE program_occurrence_pages SET lease_until = ?1
     WHERE id IN (SELECT id FROM program_occurrence_pages
                  WHERE lease_until < ?2
                  ORDER BY lease_until LIMIT ?3)
     RETURNING tenant_id AS tenantId, id AS pageId`,
    now,
    (rows) =>
      enqueueWork(
        env,
        rows.map((r) => ({ kind: "occurrences", ...r })),
      ),
    OCCURRENCE_PAGES,
  );
}

/**
 * Dead-lettered run and build continuations and occurrence pages: their lease is ended now, so the sweep sends them
 * again after `LEASE_MS` instead of waiting out the rest of the lease. Nothing is given up: the
 * rows stay the truth, and the next attempt continues from their cursor.
 */
export function expireProgramLeases(env: Env, jobs: WorkJob[], now: string): D1PreparedStatement[] {
  // Each kind's lease column, keyed by the job's id; only leases still live are ended.
  const kinds = [
    {
      table: "program_runs",
      key: "id",
      live: "cursor IS NOT NULL AND ",
      ids: jobs.flatMap((j) => (j.kind === "run" ? [j.runId] : [])),
    },
    {
      table: "program_due_builds",
      key: "program_id",
      live: "cursor IS NOT NULL AND ",
      ids: jobs.flatMap((j) => (j.kind === "due" ? [j.programId] : [])),
    },
    {
      table: "program_occurrence_pages",
      key: "id",
      live: "",
      ids: jobs.flatMap((j) => (j.kind === "occurrences" ? [j.pageId] : [])),
    },
  ];
  return kinds
    .filter((k) => k.ids.length > 0)
    .map((k) =>
      env.DB.prepare(
        `UPDATE ${k.table} SET lease_until = ? WHERE ${k.key} IN ${IN_JSON_LIST} AND ${k.live}lease_until > ?`,
      ).bind(now, JSON.stringify(k.ids), now),
    );
}
