import { verifyShopify, verifyStandard } from "../domain/signatures";
import type { Env } from "../env";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { HttpProblem, notFound } from "../lib/problem";
import { type DeliveryRow, storeOrReclaimDelivery } from "../services/integrations/hook-deliveries";
import { findIntegrationForHook } from "../services/integrations/integrations";
import { shopifyContentIdentity, shopifyTopicFamily } from "./shopify";

export interface ReceivedHook {
  /** false for a repeated delivery (already stored: no second effect). */
  created: boolean;
  tenantId: string;
  /**
   * The delivery this request must process, claimed (status `processing`, lease held): a new one,
   * or a repeated one whose earlier attempt died (its lease ran out) before finishing. Null when
   * there is nothing to do (finished, or another attempt holds a live lease).
   */
  claimed: DeliveryRow | null;
}

/**
 * Authenticates a storefront delivery on its raw bytes (before anything is parsed), then stores it
 * once per dedupe key, claimed for processing by the caller. Shopify deliveries are also unique by
 * what the HMAC covers (`shopifyContentIdentity`), so a captured body under new headers is a
 * duplicate. A duplicate whose work was left unfinished is claimed again (the storefront's retry
 * is a recovery path, as is the scheduler's lease sweep). One D1 round trip for store-or-reclaim.
 * Throws 404 for an unknown integration, 401 for a bad signature, 400 for a body that is not JSON.
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
  const text = new TextDecoder().decode(raw);

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
      `body:${await sha256Hex(text)}`;
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
    // The Standard Webhooks signature covers the id: it is the delivery's signed identity.
    dedupeKey = verified.id;
  }

  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new HttpProblem("bad_request", "The body is not valid JSON", [
      { path: "(body)", message: "is not valid JSON" },
    ]);
  }
  const contentKey =
    row.type === "shopify"
      ? await sha256Hex(
          shopifyContentIdentity(topic, payload) ??
            JSON.stringify([shopifyTopicFamily(topic), await sha256Hex(text)]),
        )
      : null;

  const { created, claimed } = await storeOrReclaimDelivery(
    env,
    {
      id: newId("hookDelivery"),
      tenantId: row.tenantId,
      integrationId: row.id,
      dedupeKey: dedupeKey.slice(0, 255),
      contentKey,
      topic,
      rawBody: text,
    },
    nowMs,
  );
  return {
    created,
    tenantId: row.tenantId,
    claimed: claimed
      ? {
          id: claimed.id,
          tenant_id: row.tenantId,
          integration_id: row.id,
          topic: claimed.topic,
          raw_body: claimed.raw_body,
          type: row.type,
        }
      : null,
  };
}
