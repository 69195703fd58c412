import { z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { HttpProblem } from "../lib/problem";
import { upsertContact } from "../services/contacts/upsert";
import { type ServiceContext, serviceContext } from "../services/context";
import { ingestEvent } from "../services/events/ingest";
import {
  claimDelivery,
  type DeliveryRow,
  findShopifyOrder,
  finishDelivery,
  type HookOutcome,
  releaseDelivery,
  rememberShopifyOrder,
} from "../services/integrations/hook-deliveries";
import {
  fulfillmentEventData,
  fulfillmentEventName,
  isFulfillmentEventPayload,
  isOrderPayload,
  orderContactFields,
  orderMarketingConsent,
  orderPhone,
  type ShopifyOrder,
} from "./shopify";

/** A standard hook's body: a `POST /v1/events` body. */
export const StandardHookEventSchema = z.strictObject({
  id: z.string().min(1).max(255).optional(),
  name: z.string().min(1).max(100),
  contact: z.union([
    z.strictObject({ id: z.string().min(1) }),
    z.strictObject({ phone: z.string().min(1) }),
    z.strictObject({ external_id: z.string().min(1) }),
  ]),
  data: z.record(z.string(), z.unknown()).optional(),
  occurred_at: z.iso.datetime({ offset: true }).optional(),
});

/**
 * Does what a stored hook delivery asks, once: claims it (a crashed claim expires after a minute),
 * parses it, and records the outcome. "busy" = another worker holds a live claim (try later).
 */
export async function processHookDelivery(
  env: Env,
  deliveryId: string,
): Promise<"done" | "busy" | "skipped"> {
  const claim = await claimDelivery(env, deliveryId, Date.now());
  if (claim.state !== "claimed") return claim.state;
  await processClaimedHook(env, claim.row);
  return "done";
}

/**
 * Processes a delivery this worker has claimed (status `processing`, lease held) and records the
 * outcome. On an error the claim is released (`received`, its lease ending now: the queue job, the
 * storefront's retry or the lease sweep takes it) and the error rethrown, so the queue retries.
 * Processing twice is harmless: the event's identity is the delivery (or the body's own `id`).
 */
export async function processClaimedHook(env: Env, row: DeliveryRow): Promise<void> {
  let outcome: HookOutcome;
  try {
    outcome = row.type === "shopify" ? await processShopify(env, row) : await processStandard(env, row);
  } catch (err) {
    await releaseDelivery(env, row.id);
    throw err;
  }
  await finishDelivery(env, row.id, outcome);
}

async function processStandard(env: Env, row: DeliveryRow): Promise<HookOutcome> {
  const parsed = StandardHookEventSchema.safeParse(JSON.parse(row.raw_body));
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    return { status: "failed", detail: `not a POST /v1/events body: ${detail}`.slice(0, 1000) };
  }
  const ctx = serviceContext(env, row.tenant_id);
  // Identity: the body's own `id` (as for POST /v1/events), else this delivery.
  const event = await ingestEvent(
    ctx,
    parsed.data,
    { kind: "standard_hook" },
    { kind: "delivery", value: row.id },
  );
  return { status: "processed", detail: `event ${event.id}` };
}

async function processShopify(env: Env, row: DeliveryRow): Promise<HookOutcome> {
  const payload: unknown = JSON.parse(row.raw_body);
  const ctx = serviceContext(env, row.tenant_id);
  switch (row.topic) {
    case "orders/create":
    case "orders/updated": {
      if (!isOrderPayload(payload)) return { status: "failed", detail: "not an order payload" };
      const phone = orderPhone(payload);
      if (!phone) return { status: "ignored", detail: "the order carries no phone number" };
      const contactId = await upsertOrderContact(ctx, phone, payload);
      if (!contactId) return { status: "ignored", detail: "the order's phone number is not valid" };
      await rememberShopifyOrder(env, {
        tenantId: row.tenant_id,
        integrationId: row.integration_id,
        orderId: String(payload.id),
        orderName: payload.name ?? null,
        contactId,
      });
      return { status: "processed", detail: `order ${payload.id} → contact ${contactId}` };
    }
    case "fulfillment_events/create": {
      if (!isFulfillmentEventPayload(payload))
        return { status: "failed", detail: "not a fulfillment event payload" };
      const order = await findShopifyOrder(env, row.tenant_id, String(payload.order_id));
      if (!order) return { status: "unmatched", detail: `order ${payload.order_id} was never seen` };
      const event = await ingestEvent(
        ctx,
        {
          name: fulfillmentEventName(payload.status),
          contact: { id: order.contact_id },
          data: fulfillmentEventData(payload, order.order_name),
          ...(payload.happened_at ? { occurred_at: payload.happened_at } : {}),
        },
        { kind: "shopify" },
        { kind: "delivery", value: row.id },
      );
      return { status: "processed", detail: `event ${event.id}` };
    }
    default:
      return { status: "ignored", detail: `topic ${row.topic ?? "(none)"} is not used` };
  }
}

/**
 * Upserts the order's contact (source "shopify"; marketing consent only when the order carries
 * it). No `consent` record is passed: an order must never lift an SMS opt-out. Null when the
 * phone is not a valid number.
 */
async function upsertOrderContact(
  ctx: ServiceContext,
  phone: string,
  order: ShopifyOrder,
): Promise<string | null> {
  const fields = orderContactFields(order);
  const country = order.shipping_address?.country_code ?? order.billing_address?.country_code ?? undefined;
  try {
    const { contact } = await upsertContact(
      ctx,
      {
        phone,
        ...(country ? { country } : {}),
        ...(fields.first_name ? { first_name: fields.first_name } : {}),
        ...(fields.last_name ? { last_name: fields.last_name } : {}),
        ...(fields.email ? { email: fields.email } : {}),
        ...(fields.attributes ? { attributes: fields.attributes } : {}),
        ...(orderMarketingConsent(order) ? { marketing_opt_in: true } : {}),
      },
      { source: "shopify", defaultMarketingOptIn: false },
    );
    return contact.id;
  } catch (err) {
    if (err instanceof HttpProblem && err.status === 422) return null;
    throw err;
  }
}
