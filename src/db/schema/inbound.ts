import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestamp, updatedAt } from "./columns";

/** Storefront integrations: where `/hooks/{id}` deliveries come from and how they are signed. */
export const integrations = sqliteTable(
  "integrations",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    type: text("type").$type<"shopify" | "standard">().notNull(),
    shopDomain: text("shop_domain"),
    /** AES-GCM sealed signing secret (Shopify's app secret or the generated `whsec_`). */
    secretSealed: text("secret_sealed").notNull(),
    deletedAt: timestamp("deleted_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("integrations_tenant_created").on(t.tenantId, t.createdAt, t.id)],
);

/** Verified hook deliveries: the dedupe record and the raw body the queue job parses. */
export const hookDeliveries = sqliteTable(
  "hook_deliveries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    integrationId: text("integration_id").notNull(),
    /** Shopify event id (else webhook id) or Standard `webhook-id`: unique per integration. */
    dedupeKey: text("dedupe_key").notNull(),
    /**
     * Shopify: what the HMAC covers (the body's own ids and timestamps, by topic family), unique per
     * integration, so a captured body sent again under a new event id has no second effect.
     */
    contentKey: text("content_key"),
    topic: text("topic"),
    rawBody: text("raw_body").notNull(),
    /** received | processed | ignored | unmatched | failed */
    status: text("status").notNull(),
    detail: text("detail"),
    receivedAt: text("received_at").notNull(),
    /**
     * The lease of unfinished work (`received` | `processing`): a crashed claim expires then, and the
     * scheduler tick re-enqueues a delivery whose lease ran out (PRODUCT.md, hook and webhook recovery).
     */
    leaseUntil: timestamp("lease_until"),
    processedAt: timestamp("processed_at"),
  },
  (t) => [
    uniqueIndex("hook_deliveries_dedupe").on(t.integrationId, t.dedupeKey),
    uniqueIndex("hook_deliveries_content").on(t.integrationId, t.contentKey),
    index("hook_deliveries_received").on(t.receivedAt),
    index("hook_deliveries_status_lease").on(t.status, t.leaseUntil),
  ],
);

/** Shopify order id → contact, remembered from orders/create|updated. */
export const shopifyOrders = sqliteTable(
  "shopify_orders",
  {
    tenantId: text("tenant_id").notNull(),
    integrationId: text("integration_id").notNull(),
    orderId: text("order_id").notNull(),
    orderName: text("order_name"),
    contactId: text("contact_id").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("shopify_orders_pk").on(t.tenantId, t.orderId)],
);

/** Every inbound SMS, keywords included (the timeline's `message.inbound`). */
export const inboundMessages = sqliteTable(
  "inbound_messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    contactId: text("contact_id"),
    carrierId: text("carrier_id"),
    from: text("from").notNull(),
    to: text("to").notNull(),
    body: text("body").notNull(),
    /** stop | start | help | null */
    keyword: text("keyword"),
    carrierMessageId: text("carrier_message_id"),
    receivedAt: text("received_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("inbound_contact").on(t.tenantId, t.contactId, t.receivedAt, t.id),
    uniqueIndex("inbound_carrier_message").on(t.tenantId, t.carrierMessageId),
  ],
);

/** Outbound webhook endpoints of a tenant. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    /** AES-GCM sealed `whsec_` signing secret. */
    secretSealed: text("secret_sealed").notNull(),
    status: text("status").$type<"enabled" | "disabled">().notNull().default("enabled"),
    disabledReason: text("disabled_reason"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    deletedAt: timestamp("deleted_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_endpoints_tenant_created").on(t.tenantId, t.createdAt, t.id)],
);

/** The delivery log: one row per event per endpoint, updated on every attempt. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    eventType: text("event_type").notNull(),
    /** `message.*`: `<type>:<message id>`, unique per endpoint, so a retried emit queues nothing twice. */
    dedupeKey: text("dedupe_key"),
    payload: text("payload").notNull(),
    /** pending | delivered | failed */
    status: text("status").notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /** While `pending`: when the next attempt is due, and the lease the scheduler tick sweeps. */
    nextAttemptAt: timestamp("next_attempt_at"),
    deliveredAt: timestamp("delivered_at"),
    failedAt: timestamp("failed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("webhook_deliveries_endpoint").on(t.tenantId, t.endpointId, t.createdAt, t.id),
    index("webhook_deliveries_created").on(t.createdAt),
    uniqueIndex("webhook_deliveries_dedupe").on(t.endpointId, t.dedupeKey),
    index("webhook_deliveries_status_next").on(t.status, t.nextAttemptAt),
  ],
);
