import { verifyShopify, verifyStandard } from "../domain/signatures";
import type { Env } from "../env";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { HttpProblem, notFound } from "../lib/problem";
import { iso } from "../lib/time";
import { findIntegrationForHook } from "../services/integrations/integrations";
import { type DeliveryRow, HOOK_LEASE_MS } from "./process";

export interface ReceivedHook {
  deliveryId: string;
  /** false for a repeated delivery (already stored: no second effect). */
  created: boolean;
  tenantId: string;
  /** A new delivery is stored already claimed by this request (status `processing`, lease held). */
  claimed: DeliveryRow | null;
}

/**
 * Authenticates a storefront delivery on its raw bytes (before anything is parsed), then stores it
 * once per dedupe key, claimed for processing by the caller (one write instead of store + claim).
 * Throws 404 for an unknown integration, 401 for a bad signature.
 */
export async function receiveHook(
  env: Env,
  integrationId: string,
  raw: Uint8Array<ArrayBuffer>,
  headers: Headers,
  nowMs: number = Date.now(),
): Promise<ReceivedHook> {
  const found = await findIntegrationForHook(env, integrationId);
  if (!found) throw notFound("Integration");
  const { row, secret } = found;

  let dedupeKey: string;
  let topic: string | null = null;
  if (row.type === "shopify") {
    if (!(await verifyShopify(secret, raw, headers.get("x-shopify-hmac-sha256")))) {
      throw new HttpProblem("unauthorized", "X-Shopify-Hmac-Sha256 does not match the body");
    }
    topic = headers.get("x-shopify-topic");
    dedupeKey =
      headers.get("x-shopify-event-id") ??
      headers.get("x-shopify-webhook-id") ??
      `body:${await sha256Hex(new TextDecoder().decode(raw))}`;
  } else {
    const verified = await verifyStandard(
      secret,
      raw,
      {
        id: headers.get("webhook-id"),
        timestamp: headers.get("webhook-timestamp"),
        signature: headers.get("webhook-signature"),
      },
      nowMs,
    );
    if (!verified.ok) {
      throw new HttpProblem(
        "unauthorized",
        verified.reason === "missing_headers"
          ? "webhook-id, webhook-timestamp and webhook-signature are required"
          : verified.reason === "stale" || verified.reason === "bad_timestamp"
            ? "webhook-timestamp is outside the 5-minute tolerance"
            : "webhook-signature does not match the body",
      );
    }
    dedupeKey = verified.id;
  }

  const text = new TextDecoder().decode(raw);
  try {
    JSON.parse(text);
  } catch {
    throw new HttpProblem("bad_request", "The body is not valid JSON", [
      { path: "(body)", message: "is not valid JSON" },
    ]);
  }

  const id = newId("hookDelivery");
  const inserted = await env.DB.prepare(
    `INSERT INTO hook_deliveries (id, tenant_id, integration_id, dedupe_key, topic, raw_body, status, received_at, lease_until)
     VALUES (?, ?, ?, ?, ?, ?, 'processing', ?, ?)
     ON CONFLICT (integration_id, dedupe_key) DO NOTHING RETURNING id`,
  )
    .bind(
      id,
      row.tenantId,
      row.id,
      dedupeKey.slice(0, 255),
      topic,
      text,
      iso(nowMs),
      iso(nowMs + HOOK_LEASE_MS),
    )
    .first<{ id: string }>();
  if (inserted) {
    return {
      deliveryId: inserted.id,
      created: true,
      tenantId: row.tenantId,
      claimed: {
        id: inserted.id,
        tenant_id: row.tenantId,
        integration_id: row.id,
        topic,
        raw_body: text,
        type: row.type,
      },
    };
  }
  const existing = await env.DB.prepare(
    "SELECT id FROM hook_deliveries WHERE integration_id = ? AND dedupe_key = ?",
  )
    .bind(row.id, dedupeKey.slice(0, 255))
    .first<{ id: string }>();
  return { deliveryId: existing?.id ?? id, created: false, tenantId: row.tenantId, claimed: null };
}
