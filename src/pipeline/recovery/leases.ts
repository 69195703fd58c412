/**
 * Lease recovery for storefront deliveries and outbound webhooks (PRODUCT.md, "hook and webhook
 * recovery"), exactly as sending rule 9 does for messages: D1 is the source of truth, not the queue.
 * A row whose work is unfinished carries a lease; when it ran out more than `LEASE_MS` ago its
 * queue message was lost (the send failed, the process was killed), so the tick enqueues it again.
 * Rows legitimately waiting (a live claim, a webhook retry due later) have a future lease and are
 * left alone. Each re-enqueued row gets a fresh lease (`now`), so it is swept again only if this
 * queue message is lost too. Processing is idempotent (claims, event identity, occurrence keys).
 *
 * Writes D1: moves the leases of the rows it re-enqueues (hook and webhook deliveries).
 */
import { leaseCutoff } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { enqueueWebhookDeliveries } from "../../services/webhooks/emit";
import { enqueueWork } from "../enqueue";

/** Rows re-enqueued per statement, and statements per kind per tick (the rest wait a tick). */
const SWEEP_PAGE = 500;
const SWEEP_MAX_PAGES = 20;

/**
 * Storefront deliveries left `received` or `processing` with a lease that ran out: released to
 * `received` (the job claims it) and enqueued again. One statement per page selects and moves them.
 */
export async function sweepHookDeliveries(env: Env, now: number): Promise<number> {
  const stale = leaseCutoff(now);
  let total = 0;
  for (let i = 0; i < SWEEP_MAX_PAGES; i++) {
    const { results } = await env.DB.prepare(
      `UPDATE hook_deliveries SET status = 'received', lease_until = ?1
       WHERE id IN (SELECT id FROM hook_deliveries
                    WHERE status IN ('received', 'processing')
                      AND (lease_until < ?2 OR (lease_until IS NULL AND received_at < ?2))
                    ORDER BY lease_until LIMIT ?3)
       RETURNING id`,
    )
      .bind(iso(now), stale, SWEEP_PAGE)
      .all<{ id: string }>();
    await enqueueWork(
      env,
      results.map((r) => ({ kind: "hook", deliveryId: r.id })),
    );
    total += results.length;
    if (results.length < SWEEP_PAGE) break;
  }
  return total;
}

/**
 * Outbound webhook deliveries still `pending` whose next attempt (the lease of a claimed attempt,
 * or the due time of a retry) is more than `LEASE_MS` past: made due now and enqueued again.
 */
export async function sweepWebhookDeliveries(env: Env, now: number): Promise<number> {
  const stale = leaseCutoff(now);
  let total = 0;
  for (let i = 0; i < SWEEP_MAX_PAGES; i++) {
    const { results } = await env.DB.prepare(
      `UPDATE webhook_deliveries SET next_attempt_at = ?1
       WHERE id IN (SELECT id FROM webhook_deliveries
                    WHERE status = 'pending'
                      AND (next_attempt_at < ?2 OR (next_attempt_at IS NULL AND updated_at < ?2))
                    ORDER BY next_attempt_at LIMIT ?3)
       RETURNING id`,
    )
      .bind(iso(now), stale, SWEEP_PAGE)
      .all<{ id: string }>();
    await enqueueWebhookDeliveries(
      env,
      results.map((r) => r.id),
    );
    total += results.length;
    if (results.length < SWEEP_PAGE) break;
  }
  return total;
}

/**
 * The tick's lease recovery: both sweeps, each isolated (one failing is logged and does not stop
 * the other, nor the rest of the tick; the next tick tries again). Never throws.
 */
export async function sweepLeases(env: Env, now: number): Promise<void> {
  for (const [name, sweep] of [
    ["hook deliveries", sweepHookDeliveries],
    ["webhook deliveries", sweepWebhookDeliveries],
  ] as const) {
    try {
      const n = await sweep(env, now);
      if (n > 0)
        console.log(JSON.stringify({ level: "info", message: `lease sweep re-enqueued ${name}`, count: n }));
    } catch (err) {
      console.error(
        JSON.stringify({ level: "error", message: `lease sweep of ${name} failed`, error: String(err) }),
      );
    }
  }
}
