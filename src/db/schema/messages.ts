import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { bool, createdAt, timestamp, updatedAt } from "./columns";

/** The outbox: a row is written before anything is enqueued; the queue only carries its id. */
export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    contactId: text("contact_id"),
    programId: text("program_id"),
    runId: text("run_id"),
    eventId: text("event_id"),
    /** Unique per tenant: a program sends once per contact per occurrence. */
    occurrenceKey: text("occurrence_key"),
    to: text("to").notNull(),
    /** Keyed hash of `to` (as in `suppressions`): dispatch re-checks opt-outs in SQL, without hashing. */
    phoneHash: text("phone_hash"),
    from: text("from"),
    body: text("body").notNull(),
    /** SHA-256 of the body without the opt-out footer: content dedupe. */
    bodyHash: text("body_hash").notNull(),
    encoding: text("encoding").$type<"GSM-7" | "UCS-2">().notNull(),
    segments: integer("segments").notNull(),
    characters: integer("characters").notNull(),
    category: text("category").$type<"transactional" | "marketing">().notNull(),
    quietHours: text("quiet_hours").$type<"enforce" | "ignore">().notNull(),
    status: text("status").notNull(),
    statusReason: text("status_reason"),
    /** When it should be handed to a carrier (send_at, due time, or the end of quiet hours). */
    scheduledAt: timestamp("scheduled_at"),
    /** Validity end: not handed to a carrier by then → expired. */
    expiresAt: timestamp("expires_at"),
    /** Lease: a queued row whose lease ran out 2+ minutes ago is enqueued again by the scheduler. */
    nextAttemptAt: timestamp("next_attempt_at"),
    sentAt: timestamp("sent_at"),
    deliveredAt: timestamp("delivered_at"),
    /** The carrier used (or pinned). null = the implicit sandbox. */
    carrierId: text("carrier_id"),
    carrierPinned: bool("carrier_pinned").notNull().default(false),
    carrierMessageId: text("carrier_message_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    attempts: integer("attempts").notNull().default(0),
    /** Carriers already tried for this message, oldest first (JSON array of ids): failover order. */
    triedCarrierIds: text("tried_carrier_ids", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** STOP/HELP/START confirmations: dispatch skips the consent re-check for them. */
    keywordReply: bool("keyword_reply").notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("messages_occurrence").on(t.tenantId, t.occurrenceKey),
    index("messages_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("messages_contact").on(t.tenantId, t.contactId, t.createdAt),
    index("messages_program_status").on(t.programId, t.status),
    index("messages_to_created").on(t.tenantId, t.to, t.createdAt),
    index("messages_status_scheduled").on(t.status, t.scheduledAt),
    index("messages_status_lease").on(t.status, t.nextAttemptAt),
    index("messages_carrier_message_id").on(t.carrierMessageId),
  ],
);

/** Every status change of a message, appended (GET /v1/messages/{id} → events). */
export const messageEvents = sqliteTable(
  "message_events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    messageId: text("message_id").notNull(),
    status: text("status").notNull(),
    detail: text("detail"),
    at: text("at").notNull(),
  },
  (t) => [index("message_events_message").on(t.messageId, t.at)],
);

/** Idempotency-Key records for POSTs under /v1 (24 h). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    /** in_flight | done */
    state: text("state").notNull(),
    lockedUntil: text("locked_until"),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    responseContentType: text("response_content_type"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("idempotency_pk").on(t.tenantId, t.key), index("idempotency_created").on(t.createdAt)],
);
