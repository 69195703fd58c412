/** Shopify webhook payloads → Herald's words. Pure: no bindings. */

interface ShopifyAddress {
  phone?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  city?: string | null;
  province_code?: string | null;
  province?: string | null;
  country_code?: string | null;
  zip?: string | null;
}

export interface ShopifyOrder {
  id: number | string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  buyer_accepts_sms_marketing?: boolean | null;
  sms_marketing_phone?: string | null;
  shipping_address?: ShopifyAddress | null;
  billing_address?: ShopifyAddress | null;
  customer?:
    | (ShopifyAddress & {
        id?: number | string | null;
        email?: string | null;
        sms_marketing_consent?: { state?: string | null; consent_updated_at?: string | null } | null;
        default_address?: ShopifyAddress | null;
      })
    | null;
}

export interface ShopifyFulfillmentEvent {
  id: number | string;
  order_id: number | string;
  status: string;
  message?: string | null;
  happened_at?: string | null;
  estimated_delivery_at?: string | null;
  city?: string | null;
  province?: string | null;
  country?: string | null;
}

const present = (s: string | null | undefined): s is string => typeof s === "string" && s.trim() !== "";

/** The phone to text about an order: order, shipping address, customer, billing address — first present. */
export function orderPhone(order: ShopifyOrder): string | null {
  const candidates = [
    order.phone,
    order.shipping_address?.phone,
    order.customer?.phone,
    order.billing_address?.phone,
  ];
  return candidates.find(present)?.trim() ?? null;
}

/** True when the order carries SMS-marketing consent. */
export function orderMarketingConsent(order: ShopifyOrder): boolean {
  return (
    order.buyer_accepts_sms_marketing === true ||
    order.customer?.sms_marketing_consent?.state === "subscribed"
  );
}

/** Contact fields an order tells us (names, email, city…), absent ones left out. */
export function orderContactFields(order: ShopifyOrder): {
  first_name?: string;
  last_name?: string;
  email?: string;
  attributes?: Record<string, string>;
} {
  const addr = order.shipping_address ?? order.billing_address ?? order.customer?.default_address ?? null;
  const first = order.customer?.first_name ?? addr?.first_name;
  const last = order.customer?.last_name ?? addr?.last_name;
  const email = order.email ?? order.customer?.email;
  const attributes: Record<string, string> = {};
  if (present(addr?.city)) attributes.city = addr.city;
  if (present(addr?.province_code)) attributes.region = addr.province_code;
  if (present(addr?.country_code)) attributes.country = addr.country_code;
  if (present(addr?.zip)) attributes.postal_code = addr.zip;
  return {
    ...(present(first) ? { first_name: first } : {}),
    ...(present(last) ? { last_name: last } : {}),
    ...(present(email) && email.includes("@") ? { email } : {}),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
  };
}

/** The event a fulfillment event raises: `order.delayed` for `delayed`, else `order.<status>`. */
export function fulfillmentEventName(status: string): string {
  return `order.${status
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")}`;
}

/** `data` of the raised event (PRODUCT.md, Storefront hooks). */
export function fulfillmentEventData(evt: ShopifyFulfillmentEvent, orderName: string | null) {
  return {
    order_id: String(evt.order_id),
    order_name: orderName,
    estimated_delivery_at: evt.estimated_delivery_at ?? null,
    message: evt.message ?? null,
    happened_at: evt.happened_at ?? null,
    city: evt.city ?? null,
    province: evt.province ?? null,
    country: evt.country ?? null,
  };
}

export const isOrderPayload = (v: unknown): v is ShopifyOrder =>
  typeof v === "object" &&
  v !== null &&
  (typeof (v as ShopifyOrder).id === "number" || typeof (v as ShopifyOrder).id === "string");

export const isFulfillmentEventPayload = (v: unknown): v is ShopifyFulfillmentEvent =>
  typeof v === "object" &&
  v !== null &&
  (typeof (v as ShopifyFulfillmentEvent).order_id === "number" ||
    typeof (v as ShopifyFulfillmentEvent).order_id === "string") &&
  typeof (v as ShopifyFulfillmentEvent).status === "string";

/** The family a topic is processed as: `orders/create` and `orders/updated` do the same thing. */
export function shopifyTopicFamily(topic: string | null): string {
  const t = (topic ?? "").trim().toLowerCase();
  if (t === "orders/create" || t === "orders/updated") return "order";
  return t || "(none)";
}

const stampOf = (p: Record<string, unknown>, key: string): string =>
  typeof p[key] === "string" ? (p[key] as string) : "";

/**
 * What identifies a Shopify delivery among the things its HMAC covers: the body's own id and
 * timestamps (`updated_at`, `happened_at`, `created_at`), by topic family. The headers (event id,
 * webhook id, topic) are not signed: a captured body sent again under new ids has the same identity.
 * A forged topic only changes how the body is read, and each topic reads only its own payload shape.
 * Null when the body has no id of its own (the caller then uses the body's hash).
 */
export function shopifyContentIdentity(topic: string | null, payload: unknown): string | null {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return null;
  const p = payload as Record<string, unknown>;
  const id = p.id;
  if (typeof id !== "number" && typeof id !== "string") return null;
  return JSON.stringify([
    shopifyTopicFamily(topic),
    String(id),
    stampOf(p, "updated_at"),
    stampOf(p, "happened_at"),
    stampOf(p, "created_at"),
  ]);
}
