// Writes D1: purges finished entries of the delivery logs past their retention (a scheduler part).
import { iso } from "../lib/time";

/** How long the storefront hook log and the outbound webhook delivery log keep a finished entry. */
export const DELIVERY_LOG_RETENTION_DAYS = 30;

/**
 * Forgets finished entries of the two delivery logs once they are older than the retention: their
 * payloads (orders, messages) hold personal data that a contact's erasure cannot reach. Entries still
 * in progress stay whatever their age. At most `limit` rows per log per call, oldest first, so a
 * tick stays short (the scheduler calls it every minute).
 */
export async function purgeDeliveryLogs(
  db: D1Database,
  nowMs: number = Date.now(),
  limit = 1000,
): Promise<{ hooks: number; webhooks: number }> {
  const cutoff = iso(nowMs - DELIVERY_LOG_RETENTION_DAYS * 86_400_000);
  const [hooks, webhooks] = await db.batch([
    db
      .prepare(
        `DELETE FROM hook_deliveries WHERE rowid IN
           (SELECT rowid FROM hook_deliveries WHERE received_at < ?1 AND status NOT IN ('received', 'processing')
             ORDER BY received_at LIMIT ?2)`,
      )
      .bind(cutoff, limit),
    db
      .prepare(
        `DELETE FROM webhook_deliveries WHERE rowid IN
           (SELECT rowid FROM webhook_deliveries WHERE created_at < ?1 AND status <> 'pending'
             ORDER BY created_at LIMIT ?2)`,
      )
      .bind(cutoff, limit),
  ]);
  return { hooks: hooks?.meta.changes ?? 0, webhooks: webhooks?.meta.changes ?? 0 };
}
