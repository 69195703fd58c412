import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestamp, updatedAt } from "./columns";

export const carriers = sqliteTable(
  "carriers",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    provider: text("provider").$type<"twilio" | "telnyx" | "vonage" | "sinch" | "sandbox">().notNull(),
    name: text("name"),
    /** AES-GCM sealed JSON of the provider's credentials; never returned. */
    credentialsSealed: text("credentials_sealed"),
    fromNumbers: text("from_numbers", { mode: "json" }).$type<string[]>().notNull().default([]),
    messagingServiceSid: text("messaging_service_sid"),
    baseUrl: text("base_url"),
    /** Segments per second this sender pool may send; null = unlimited (sandbox only). */
    mps: integer("mps"),
    priority: integer("priority").notNull().default(0),
    /** Origin used for status/inbound callback URLs (PUBLIC_BASE_URL or the creating request's origin). */
    callbackOrigin: text("callback_origin").notNull(),
    deletedAt: timestamp("deleted_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("carriers_tenant_priority").on(t.tenantId, t.priority),
    index("carriers_tenant_created").on(t.tenantId, t.createdAt, t.id),
  ],
);

/** Sticky sender: the `from` number a contact's phone keeps getting from a carrier pool. */
export const stickySenders = sqliteTable(
  "sticky_senders",
  {
    carrierId: text("carrier_id").notNull(),
    phone: text("phone").notNull(),
    fromNumber: text("from_number").notNull(),
  },
  (t) => [uniqueIndex("sticky_senders_pk").on(t.carrierId, t.phone)],
);
