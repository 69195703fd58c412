/**
 * The storefront delivery log (`hook_deliveries`) and the orders it remembers (`shopify_orders`):
 * every write of the hooks path. A delivery is stored once per dedupe key, claimed with a lease
 * while it is processed, released on an error and finished with its outcome; the scheduler's lease
 * sweep (pipeline/recovery/leases.ts) re-enqueues one whose lease ran out (domain/rules/lease.ts:
 * a claim holds the row `LEASE_MS`; a crashed attempt's claim then lapses).
 */
import { IN_JSON_LIST } from "../../db/json-list";
import { claimedLease } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { iso } from "../../lib/time";

export interface DeliveryRow {
  id: string;
  tenant_id: string;
  integration_id: string;
  topic: string | null;
  raw_body: string;
  type: "shopify" | "standard";
}

export type HookOutcome = { status: "processed" | "ignored" | "unmatched" | "failed"; detail: string | null };

interface NewDelivery {
  id: string;
  tenantId: string;
  integrationId: string;
  dedupeKey: string;
  contentKey: string | null;
  topic: string | null;
  rawBody: string;
}

/**
 * Stores a delivery once per dedupe key (or content key), claimed for the caller; a repeated one
 * whose earlier attempt died unfinished (released, or its lease ran out) is claimed again instead.
 * One D1 round trip. Returns the claimed row's id, topic and body, and whether it is new.
 */
export async function storeOrReclaimDelivery(
  env: Env,
  d: NewDelivery,
  nowMs: number,
): Promise<{
  created: boolean;
  claimed: { id: string; topic: string | null; raw_body: string } | undefined;
}> {
  const now = iso(nowMs);
  const lease = claimedLease(nowMs);
  const [inserted, reclaimed] = await env.DB.batch<{ id: string; topic: string | null; raw_body: string }>([
    env.DB.prepare(
      `INSERT INTO hook_deliveries (id, tenant_id, integration_id, dedupe_key, content_key, topic, raw_body, status, received_at, lease_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'processing', ?, ?)
       ON CONFLICT DO NOTHING RETURNING id, topic, raw_body`,
    ).bind(d.id, d.tenantId, d.integrationId, d.dedupeKey, d.contentKey, d.topic, d.rawBody, now, lease),
    env.DB.prepare(
      `UPDATE hook_deliveries SET status = 'processing', lease_until = ?
       WHERE id = (SELECT id FROM hook_deliveries
                   WHERE integration_id = ? AND (dedupe_key = ? OR content_key = ?) AND id <> ?
                     AND (status = 'received' OR (status = 'processing' AND lease_until < ?))
                   LIMIT 1)
       RETURNING id, topic, raw_body`,
    ).bind(lease, d.integrationId, d.dedupeKey, d.contentKey, d.id, now),
  ]);
  const created = inserted?.results[0];
  return { created: created !== undefined, claimed: created ?? reclaimed?.results[0] };
}

/**
 * Claims a stored delivery for processing: "claimed" with its row, "busy" when another worker holds
 * a live claim, "skipped" when it is finished or gone.
 */
export async function claimDelivery(
  env: Env,
  deliveryId: string,
  nowMs: number,
): Promise<{ state: "claimed"; row: DeliveryRow } | { state: "busy" | "skipped" }> {
  const claimed = await env.DB.prepare(
    `UPDATE hook_deliveries SET status = 'processing', lease_until = ?
     WHERE id = ? AND (status = 'received' OR (status = 'processing' AND lease_until < ?))
     RETURNING id`,
  )
    .bind(claimedLease(nowMs), deliveryId, iso(nowMs))
    .first<{ id: string }>();
  if (!claimed) {
    const row = await env.DB.prepare("SELECT status FROM hook_deliveries WHERE id = ?")
      .bind(deliveryId)
      .first<{ status: string }>();
    return { state: row?.status === "processing" ? "busy" : "skipped" };
  }
  const row = await env.DB.prepare(
    `SELECT d.id, d.tenant_id, d.integration_id, d.topic, d.raw_body, i.type
     FROM hook_deliveries d JOIN integrations i ON i.id = d.integration_id WHERE d.id = ?`,
  )
    .bind(deliveryId)
    .first<DeliveryRow>();
  return row ? { state: "claimed", row } : { state: "skipped" };
}

/** Gives a claim back after an error: `received`, its lease ending now (a retry, the job or the sweep takes it). */
export async function releaseDelivery(env: Env, deliveryId: string): Promise<void> {
  await env.DB.prepare("UPDATE hook_deliveries SET status = 'received', lease_until = ? WHERE id = ?")
    .bind(iso(), deliveryId)
    .run();
}

/** Records a processed delivery's outcome; its lease ends. */
export async function finishDelivery(env: Env, deliveryId: string, outcome: HookOutcome): Promise<void> {
  await env.DB.prepare(
    "UPDATE hook_deliveries SET status = ?, detail = ?, processed_at = ?, lease_until = NULL WHERE id = ?",
  )
    .bind(outcome.status, outcome.detail, iso(), deliveryId)
    .run();
}

/** Remembers a Shopify order's contact and name, for its later fulfillment events. */
export async function rememberShopifyOrder(
  env: Env,
  o: {
    tenantId: string;
    integrationId: string;
    orderId: string;
    orderName: string | null;
    contactId: string;
  },
): Promise<void> {
  const now = iso();
  await env.DB.prepare(
    `INSERT INTO shopify_orders (tenant_id, integration_id, order_id, order_name, contact_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, order_id) DO UPDATE SET
       contact_id = excluded.contact_id, order_name = COALESCE(excluded.order_name, order_name),
       updated_at = excluded.updated_at`,
  )
    .bind(o.tenantId, o.integrationId, o.orderId, o.orderName, o.contactId, now, now)
    .run();
}

/** The remembered order, or null when Herald never saw it. */
export async function findShopifyOrder(
  env: Env,
  tenantId: string,
  orderId: string,
): Promise<{ contact_id: string; order_name: string | null } | null> {
  return env.DB.prepare(
    "SELECT contact_id, order_name FROM shopify_orders WHERE tenant_id = ? AND order_id = ?",
  )
    .bind(tenantId, orderId)
    .first<{ contact_id: string; order_name: string | null }>();
}

/** Deliveries whose work queue job was dead-lettered: `failed`, their log says so (for the caller's batch). */
export function deadHookDeliveriesStatement(
  env: Env,
  deliveryIds: string[],
  now: string,
): D1PreparedStatement {
  return env.DB.prepare(
    `UPDATE hook_deliveries SET status = 'failed', detail = COALESCE(detail, 'processing kept failing'), processed_at = ?
     WHERE id IN ${IN_JSON_LIST} AND status IN ('received', 'processing')`,
  ).bind(now, JSON.stringify(deliveryIds));
}
