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
import type { Env } from "../../env";
import { enqueueWebhookDeliveries } from "../../services/webhooks/emit";
import { enqueueWork } from "../enqueue";
import { releaseInPages } from "./release";

/** Rows re-enqueued per statement, and statements per kind per tick (the rest wait a tick). */
const PAGES = { page: 500, maxPages: 20 };

/**
 * Storefront deliveries left `received` or `processing` with a lease that ran out: released to
 * `received` (the job claims it) and enqueued again. One statement per page selects and moves them.
 */
export function sweepHookDeliveries(env: Env, now: number): Promise<number> {
  return releaseInPages<{ id: string }>(
    env,
    `UPDATE hook_deliveries SET status = 'received', lease_until = ?1
     WHERE id IN (SELECT id FROM hook_deliveries
                  WHERE status IN ('received', 'processing')
                    AND (lease_until < ?2 OR (lease_until IS NULL AND received_at < ?2))
                  ORDER BY lease_until LIMIT ?3)
     RETURNING id`,
    now,
    (rows) =>
      enqueueWork(
        env,
        rows.map((r) => ({ kind: "hook", deliveryId: r.id })),
      ),
    PAGES,
  );
}

/**
 * Outbound webhook deliveries still `pending` whose next attempt (the lease of a claimed attempt,
 * or the due time of a retry) is more than `LEASE_MS` past: made due now and enqueued again.
 */
export function sweepWebhookDeliveries(env: Env, now: number): Promise<number> {
  return releaseInPages<{ id: string }>(
    env,
    `UPDATE webhook_deliveries SET next_attempt_at = ?1
     WHERE id IN (SELECT id FROM webhook_deliveries
                  WHERE status = 'pending'
                    AND (next_attempt_at < ?2 OR (next_attempt_at IS NULL AND updated_at < ?2))
                  ORDER BY next_attempt_at LIMIT ?3)
     RETURNING id`,
    now,
    (rows) =>
      enqueueWebhookDeliveries(
        env,
        rows.map((r) => r.id),
      ),
    PAGES,
  );
}
