import { leaseCutoff } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { leaseStatement } from "../../services/messages/dispatch-writes";
import { bulkTransitionStatements, movedIds } from "../../services/messages/status";
import { ringWebhooks } from "../../services/webhooks/in-batch";
import { BatchWebhooks } from "../dispatch/notify";
import { enqueueDispatch } from "../enqueue";

/** Rows handled per sweep statement page, and pages per category per tick (the rest wait a tick). */
const SWEEP_PAGE = 500;
const SWEEP_MAX_PAGES = 20;

interface SweepRow {
  id: string;
  tenant_id: string;
  contact_id: string | null;
  program_id: string | null;
  to: string;
  segments: number;
  attempts: number;
}

const NOT_PAUSED = `(m.program_id IS NULL OR NOT EXISTS (SELECT 1 FROM programs p WHERE p.id = m.program_id AND p.status = 'paused'))`;

/**
 * Outbox sweep run by every scheduler tick: expires rows past validity, releases due `scheduled`
 * rows, re-rings `queued` rows whose lease ran out 2+ minutes ago, ends `sending` rows past validity
 * as failed/unknown_outcome. Paged and bounded: what is left waits for the next tick.
 */
export async function sweepOutbox(env: Env, now: number): Promise<void> {
  const at = iso(now);
  const cols = `m.id, m.tenant_id, m.contact_id, m.program_id, m."to", m.segments, m.attempts`;

  // 1. Validity ended before a carrier had it.
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status IN ('scheduled', 'queued') AND m.expires_at <= ? LIMIT ${SWEEP_PAGE}`,
    [at],
    async (rows) => {
      await env.DB.batch(
        bulkTransitionStatements(env.DB, {
          to: "expired",
          from: ["scheduled", "queued"],
          at,
          set: { status_reason: "validity_ended" },
          rows: rows.map((r) => ({ tenantId: r.tenant_id, messageId: r.id })),
        }),
      );
    },
  );

  // 2. Due scheduled rows (send_at reached, quiet hours over) become queued and ring the doorbell.
  //    Pipelined: each page's write batch also reads the next page, and a page is enqueued while
  //    the next one is written (its rows are committed before their ids go on the queue).
  const dueSql = `SELECT ${cols} FROM messages m WHERE m.status = 'scheduled' AND m.scheduled_at <= ? AND ${NOT_PAUSED}
      ORDER BY m.scheduled_at LIMIT ${SWEEP_PAGE}`;
  const duePage = () => env.DB.prepare(dueSql).bind(at);
  let page = (await duePage().all<SweepRow>()).results;
  let ringing: Promise<void> = Promise.resolve();
  for (let i = 0; i < SWEEP_MAX_PAGES && page.length > 0; i++) {
    const more = page.length === SWEEP_PAGE && i + 1 < SWEEP_MAX_PAGES;
    const results = await env.DB.batch([
      ...bulkTransitionStatements(env.DB, {
        to: "queued",
        from: ["scheduled"],
        at,
        set: { next_attempt_at: at },
        rows: page.map((r) => ({ tenantId: r.tenant_id, messageId: r.id })),
      }),
      ...(more ? [duePage()] : []),
    ]);
    await ringing;
    ringing = enqueueDispatch(env, [...movedIds(results[0])]);
    // Let other events of this isolate in between pages: the dispatcher can start on the first page
    // while the rest is released (locally, workerd would otherwise hold it until the tick ends).
    await new Promise((r) => setTimeout(r, 0));
    page = more ? ((results[2]?.results ?? []) as SweepRow[]) : [];
  }
  await ringing;

  // 3. Queued rows whose lease ran out 2+ minutes ago lost their queue message: ring again.
  const stale = leaseCutoff(now);
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status = 'queued'
        AND (m.next_attempt_at < ? OR (m.next_attempt_at IS NULL AND m.updated_at < ?)) AND ${NOT_PAUSED}
      ORDER BY m.next_attempt_at LIMIT ${SWEEP_PAGE}`,
    [stale, stale],
    async (rows) => {
      const { results } = await leaseStatement(
        env.DB,
        rows.map((r) => r.id),
        at,
      ).all<{ id: string }>();
      await enqueueDispatch(
        env,
        results.map((r) => r.id),
      );
    },
  );

  // 4. Rows left `sending` (the process died during the carrier call, or the call timed out) are never
  //    resent: once their validity is over they fail as unknown_outcome; a late callback may still lift them.
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status = 'sending'
        AND (m.expires_at <= ? OR (m.expires_at IS NULL AND m.updated_at < ?)) LIMIT ${SWEEP_PAGE}`,
    [at, iso(now - 24 * 3_600_000)],
    async (rows) => {
      const stmts = bulkTransitionStatements(env.DB, {
        to: "failed",
        from: ["sending"],
        at,
        set: { status_reason: "unknown_outcome" },
        rows: rows.map((r) => ({
          tenantId: r.tenant_id,
          messageId: r.id,
          detail: "no carrier outcome before the validity ended",
        })),
      });
      // Their `message.failed` webhooks are written with the failures (once per message).
      const hooks = new BatchWebhooks();
      for (const r of rows) hooks.add(r.tenant_id, "message.failed", r.id);
      hooks.appendTo(env.DB, stmts, at);
      await ringWebhooks(env, hooks.written(await env.DB.batch(stmts)));
    },
  );
}

/** Runs `handle` on pages of `sql` until a page comes back short or the per-tick bound is reached. */
async function pages(
  env: Env,
  sql: string,
  params: string[],
  handle: (rows: SweepRow[]) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < SWEEP_MAX_PAGES; i++) {
    const { results } = await env.DB.prepare(sql)
      .bind(...params)
      .all<SweepRow>();
    if (results.length > 0) await handle(results);
    if (results.length < SWEEP_PAGE) return;
  }
}
