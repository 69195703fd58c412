import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { WorkJob } from "../../pipeline/jobs";

export const WEBHOOK_EVENT_TYPES = [
  "message.sent",
  "message.delivered",
  "message.undelivered",
  "message.failed",
  "message.received",
  "contact.unsubscribed",
  "contact.subscribed",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const SEND_BATCH_MAX = 100;

/**
 * Queues a signed delivery of `type` to every enabled endpoint of the tenant subscribed to it:
 * one delivery row per endpoint (written in one statement), then one work job per row. The
 * payload is fixed here (`{type, timestamp, data}`), so every retry sends the same bytes' content.
 */
export async function emitWebhookEvent(
  env: Env,
  tenantId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<void> {
  const endpoints = await env.DB.prepare(
    `SELECT id FROM webhook_endpoints
     WHERE tenant_id = ? AND status = 'enabled' AND deleted_at IS NULL
       AND EXISTS (SELECT 1 FROM json_each(webhook_endpoints.events) WHERE value = ?)`,
  )
    .bind(tenantId, type)
    .all<{ id: string }>();
  if (endpoints.results.length === 0) return;
  const now = nowIso();
  const payload = JSON.stringify({ type, timestamp: now, data });
  const rows = endpoints.results.map((e) => ({ id: newId("webhookDelivery"), endpoint_id: e.id }));
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries
       (id, tenant_id, endpoint_id, event_type, payload, status, attempts, created_at, updated_at)
     SELECT json_extract(value, '$.id'), ?, json_extract(value, '$.endpoint_id'), ?, ?, 'pending', 0, ?, ?
     FROM json_each(?)`,
  )
    .bind(tenantId, type, payload, now, now, JSON.stringify(rows))
    .run();
  const jobs: { body: WorkJob }[] = rows.map((r) => ({ body: { kind: "webhook", deliveryId: r.id } }));
  for (let i = 0; i < jobs.length; i += SEND_BATCH_MAX) {
    await env.WORK_QUEUE.sendBatch(jobs.slice(i, i + SEND_BATCH_MAX));
  }
}
