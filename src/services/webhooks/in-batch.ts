/**
 * Webhook deliveries written in the same `db.batch()` as the change they report ("acknowledged
 * means durable", issue 9): the status change and its delivery rows commit together or not at all,
 * so a fault after the change can no longer drop the webhook. Each row is `pending` with a lease
 * due at once; the caller rings the doorbell (`enqueueWebhookDeliveries`) after the batch with the
 * ids the statement returns, and a lost doorbell is re-rung by the lease sweep.
 *
 * The endpoints are read inside the statement (enabled, not deleted, subscribed to the type), so no
 * extra round trip is needed, and delivery ids are minted in SQL: `whd_` + the time part of `newId`
 * + 14 random hex characters.
 */
import { ALWAYS, type SqlGuard } from "../../db/guard";
import type { Env } from "../../env";
import { ID_PREFIXES } from "../../lib/ids";
import { messageJsonSql } from "../messages/payload";
import { enqueueWebhookDeliveries, type WebhookEventType } from "./emit";

/** The time-ordered prefix of delivery ids minted in SQL (random part appended there). */
const idPrefix = (now = Date.now()): string =>
  `${ID_PREFIXES.webhookDelivery}_${now.toString(36).padStart(9, "0")}`;
const SQL_ID = `? || lower(hex(randomblob(7)))`;
const LISTENS = `e.status = 'enabled' AND e.deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM json_each(e.events) WHERE value = ?)`;

/**
 * The Message object as `GET /v1/messages/{id}` shows it (`messageView`, built from the same field
 * list), over the row `m`, with `status` given by `?` (the status of the event: a sandbox message
 * is already delivered when its `message.sent` is written).
 */
const MESSAGE_VIEW_JSON = messageJsonSql("m", { status: "?" });

/**
 * One `message.<status>` delivery per listening endpoint for each of `messageIds`, its payload the
 * message row as it stands at this point of the batch (put it after the transition's statements).
 * Written only for a message that reached that status (it has the status event), once per message
 * and type (`dedupe_key`), so writing it again — a retried batch, a redelivered job — adds nothing.
 * With `onlyIf`, nothing is written unless it holds where the statement stands in the batch.
 * Returns the ids it wrote.
 */
export function messageWebhookStatement(
  d1: D1Database,
  type: Extract<WebhookEventType, `message.${string}`>,
  messageIds: string[],
  at: string,
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  const status = type.slice("message.".length);
  return d1
    .prepare(
      `INSERT INTO webhook_deliveries
         (id, tenant_id, endpoint_id, event_type, dedupe_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT ${SQL_ID}, m.tenant_id, e.id, ?, ? || ':' || m.id,
              json_object('type', ?, 'timestamp', ?, 'data', ${MESSAGE_VIEW_JSON}),
              'pending', 0, ?, ?, ?
         FROM json_each(?) AS j
         CROSS JOIN messages m ON m.id = j.value
         JOIN webhook_endpoints e ON e.tenant_id = m.tenant_id AND ${LISTENS}
        WHERE EXISTS (SELECT 1 FROM message_events ev WHERE ev.message_id = m.id AND ev.status = ?)
          AND (${onlyIf.sql})
       ON CONFLICT DO NOTHING RETURNING id`,
    )
    .bind(
      idPrefix(),
      type,
      type,
      type,
      at,
      status,
      at,
      at,
      at,
      JSON.stringify(messageIds),
      type,
      status,
      ...onlyIf.params,
    );
}

/**
 * The `contact.unsubscribed` deliveries of a carrier-reported opt-out of `phone`: `{contact_id,
 * phone, source: "carrier"}`, the contact looked up in the batch. Guard it with `consentWouldChange`
 * and put it before the unsubscribe statements, so it is written exactly when the opt-out changes
 * something. Returns the ids it wrote.
 */
export function carrierOptOutWebhookStatement(
  d1: D1Database,
  tenantId: string,
  phone: string,
  at: string,
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  const type: WebhookEventType = "contact.unsubscribed";
  return d1
    .prepare(
      `INSERT INTO webhook_deliveries
         (id, tenant_id, endpoint_id, event_type, dedupe_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT ${SQL_ID}, e.tenant_id, e.id, ?, NULL,
              json_object('type', ?, 'timestamp', ?, 'data', json_object(
                'contact_id', (SELECT id FROM contacts WHERE tenant_id = ? AND phone = ?),
                'phone', ?, 'source', 'carrier')),
              'pending', 0, ?, ?, ?
         FROM webhook_endpoints e
        WHERE e.tenant_id = ? AND ${LISTENS} AND (${onlyIf.sql})
       ON CONFLICT DO NOTHING RETURNING id`,
    )
    .bind(idPrefix(), type, type, at, tenantId, phone, phone, at, at, at, tenantId, type, ...onlyIf.params);
}

/** The delivery ids written by the statements at `indexes` of a batch's results. */
export const writtenDeliveries = (results: D1Result[], indexes: number[]): string[] =>
  indexes.flatMap((i) => ((results[i]?.results ?? []) as { id: string }[]).map((r) => r.id));

/**
 * Rings the doorbell of deliveries already committed. Never throws: a lost ring is recovered by
 * the lease sweep (the rows are `pending`, due now), and it must not undo the caller's work.
 */
export async function ringWebhooks(env: Env, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    await enqueueWebhookDeliveries(env, ids);
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "webhook doorbell lost; left to the lease sweep",
        deliveries: ids.length,
        error: String(err),
      }),
    );
  }
}
