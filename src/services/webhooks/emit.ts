import { ALWAYS, type SqlGuard } from "../../db/guard";
import { IN_JSON_LIST } from "../../db/json-list";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { enqueueWork } from "../../pipeline/enqueue";

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

/** The enabled endpoints of the tenant subscribed to any of `types`, with the events each wants. */
export async function listeningEndpoints(
  env: Env,
  tenantId: string,
  types: readonly WebhookEventType[],
): Promise<{ id: string; events: WebhookEventType[] }[]> {
  const rows = await listeningEndpointsStatement(env, tenantId, types).all<{ id: string; events: string }>();
  return rows.results.map((r) => ({ id: r.id, events: JSON.parse(r.events) as WebhookEventType[] }));
}

/** The read of `listeningEndpoints`, for a caller that batches it with other reads (rows: `{id, events}`). */
export function listeningEndpointsStatement(
  env: Env,
  tenantId: string,
  types: readonly WebhookEventType[],
): D1PreparedStatement {
  return env.DB.prepare(
    `SELECT id, events FROM webhook_endpoints
     WHERE tenant_id = ? AND status = 'enabled' AND deleted_at IS NULL
       AND EXISTS (SELECT 1 FROM json_each(webhook_endpoints.events) WHERE value IN ${IN_JSON_LIST})`,
  ).bind(tenantId, JSON.stringify(types));
}

/**
 * What makes two emits one webhook: a message reaches each status once, so `message.*` events are
 * keyed by type and message id (`message.received` by the inbound id). A retried emit (the carrier
 * resent a callback whose first attempt died after the status change) then queues nothing twice.
 * Contact events repeat legitimately (unsubscribe, resubscribe, unsubscribe): no key.
 */
export function webhookDedupeKey(type: WebhookEventType, data: Record<string, unknown>): string | null {
  return type.startsWith("message.") && typeof data.id === "string" ? `${type}:${data.id}` : null;
}

/**
 * The statement that writes one delivery of `type` per row (`{id, endpoint_id}`), once per dedupe
 * key, and returns the ids it wrote. Each row is `pending` with `next_attempt_at` = `at`: due at
 * once, and the lease the scheduler's sweep re-enqueues when its job was lost (`sendBatch` failed,
 * the process died). The payload is fixed here (`{type, timestamp, data}`), so every retry sends the
 * same content. With `onlyIf`, nothing is written unless it holds (for deliveries that must stand
 * or fall with other statements of the same batch); an id that exists already is skipped.
 */
export function webhookDeliveriesStatement(
  env: Env,
  tenantId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
  rows: { id: string; endpoint_id: string }[],
  at: string = nowIso(),
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  const payload = JSON.stringify({ type, timestamp: at, data });
  return env.DB.prepare(
    `INSERT INTO webhook_deliveries
       (id, tenant_id, endpoint_id, event_type, dedupe_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
     SELECT json_extract(value, '$.id'), ?, json_extract(value, '$.endpoint_id'), ?, ?, ?, 'pending', 0, ?, ?, ?
     FROM json_each(?) WHERE ${onlyIf.sql}
     ON CONFLICT DO NOTHING RETURNING id`,
  ).bind(
    tenantId,
    type,
    webhookDedupeKey(type, data),
    payload,
    at,
    at,
    at,
    JSON.stringify(rows),
    ...onlyIf.params,
  );
}

/**
 * Queues a signed delivery of `type` to every enabled endpoint of the tenant subscribed to it:
 * one delivery row per endpoint (written in one statement, once per dedupe key), then one work job
 * per new row.
 */
export async function emitWebhookEvent(
  env: Env,
  tenantId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<void> {
  const endpoints = await listeningEndpoints(env, tenantId, [type]);
  if (endpoints.length === 0) return;
  const rows = endpoints.map((e) => ({ id: newId("webhookDelivery"), endpoint_id: e.id }));
  const { results: created } = await webhookDeliveriesStatement(env, tenantId, type, data, rows).all<{
    id: string;
  }>();
  await enqueueWebhookDeliveries(
    env,
    created.map((r) => r.id),
  );
}

/** One work job per delivery id, in `sendBatch` chunks of ≤ 100 (each job claims its row, so extra rings are harmless). */
export async function enqueueWebhookDeliveries(env: Pick<Env, "WORK_QUEUE">, ids: string[]): Promise<void> {
  await enqueueWork(
    env,
    ids.map((deliveryId) => ({ kind: "webhook", deliveryId })),
  );
}
