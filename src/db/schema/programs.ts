import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestamp, updatedAt } from "./columns";

export type ProgramKind =
  | "welcome"
  | "prospect"
  | "billing"
  | "birthday"
  | "recurring"
  | "delivery_delay"
  | "custom";

export type ProgramTrigger =
  | { type: "event"; event: string; delay_minutes?: number }
  | { type: "date"; field: string; offset_days: number; at: string; repeat: "yearly" | "none" }
  | { type: "schedule"; cron: string; timezone: string }
  | { type: "manual" };

export type ProgramAudience = { segment_id: string } | { filter: unknown };

export const programs = sqliteTable(
  "programs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    kind: text("kind").$type<ProgramKind>().notNull(),
    category: text("category").$type<"transactional" | "marketing">().notNull(),
    department: text("department"),
    template: text("template").notNull(),
    trigger: text("trigger", { mode: "json" }).$type<ProgramTrigger>().notNull(),
    /** Denormalised trigger.type / trigger.event so the scheduler and events find programs by index. */
    triggerType: text("trigger_type").$type<ProgramTrigger["type"]>().notNull(),
    triggerEvent: text("trigger_event"),
    audience: text("audience", { mode: "json" }).$type<ProgramAudience | null>(),
    exitOn: text("exit_on", { mode: "json" }).$type<string[]>().notNull().default([]),
    quietHours: text("quiet_hours").$type<"enforce" | "ignore">().notNull(),
    carrierId: text("carrier_id"),
    validityHours: integer("validity_hours").notNull(),
    status: text("status").$type<"active" | "paused" | "archived">().notNull(),
    /** Start of the current active stretch: occurrences due before it are never sent (no retroactive sends). */
    activatedAt: timestamp("activated_at"),
    /** Fixed-zone schedules: the next cron instant (UTC); the scheduler's index for them. */
    nextRunAt: timestamp("next_run_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("programs_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("programs_tenant_event").on(t.tenantId, t.status, t.triggerEvent),
    index("programs_status_trigger").on(t.status, t.triggerType),
    index("programs_status_next_run").on(t.status, t.nextRunAt),
  ],
);

/**
 * Materialised "who is due when" for per-contact occurrences that no contacts column can answer:
 * `attributes.<date>` triggers and schedules in each contact's zone. One row per (program,
 * contact): the next occurrence. A tick is an index range scan on `due_at`.
 */
export const programDue = sqliteTable(
  "program_due",
  {
    programId: text("program_id").notNull(),
    contactId: text("contact_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** UTC instant the occurrence is due. */
    dueAt: text("due_at").notNull(),
    /** Occurrence label inside the program (due date, or the local cron tick). */
    occurrence: text("occurrence").notNull(),
    /** When this occurrence was computed from the contact's data: earlier due instants are not sent. */
    armedAt: text("armed_at").notNull(),
  },
  (t) => [
    uniqueIndex("program_due_pk").on(t.programId, t.contactId),
    index("program_due_due").on(t.programId, t.dueAt),
    index("program_due_contact").on(t.tenantId, t.contactId),
  ],
);

/** An `exit_on` event stopped this program for this contact, while its date field keeps `fieldValue`. */
export const programExits = sqliteTable(
  "program_exits",
  {
    programId: text("program_id").notNull(),
    contactId: text("contact_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    fieldValue: text("field_value"),
    eventId: text("event_id"),
    at: text("at").notNull(),
  },
  (t) => [uniqueIndex("program_exits_pk").on(t.programId, t.contactId)],
);

/** Events received (API, storefront hooks), for the timeline and as occurrences of event programs. */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    contactId: text("contact_id").notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: text("occurred_at").notNull(),
    source: text("source").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("events_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("events_contact").on(t.tenantId, t.contactId, t.createdAt),
  ],
);

/** Audience runs (`POST /v1/programs/{id}/run`). */
export const programRuns = sqliteTable(
  "program_runs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    programId: text("program_id").notNull(),
    audienceCount: integer("audience_count").notNull(),
    /** Last contact id written; the work queue continues after it. Null once the run is complete. */
    cursor: text("cursor"),
    /**
     * While the run is writing: until when its current step (the request's inline pages, or the
     * work-queue job continuing from `cursor`) holds it. Past it by more than the lease grace, the
     * continuation was lost and the scheduler tick enqueues it again.
     */
    leaseUntil: timestamp("lease_until"),
    completedAt: text("completed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("program_runs_program").on(t.programId, t.createdAt),
    index("program_runs_writing_lease").on(t.leaseUntil).where(sql`cursor IS NOT NULL`),
  ],
);

/**
 * The current build of a materialised program's due rows (one per program): the version it is for,
 * its cursor (last contact id written; null once finished) and a lease, like a run's. Written in
 * the same batch as the program change that starts it, so a build that was started always finishes:
 * a lost continuation is found by the scheduler tick once the lease ran out.
 */
export const programDueBuilds = sqliteTable(
  "program_due_builds",
  {
    programId: text("program_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** This build's identity: a continuation of a replaced build moves nothing. */
    buildId: text("build_id").notNull(),
    /** The program version the build is for (JSON trigger, activation). */
    trigger: text("trigger").notNull(),
    activatedAt: timestamp("activated_at"),
    /** Occurrences due before this moment are not sent (no retroactive sends). */
    armedAt: text("armed_at").notNull(),
    /** Schedules start from their next run after this instant (ms). */
    nowMs: integer("now_ms").notNull(),
    cursor: text("cursor"),
    leaseUntil: timestamp("lease_until"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("program_due_builds_lease").on(t.leaseUntil).where(sql`cursor IS NOT NULL`)],
);

/**
 * Pages of due occurrences the scheduler tick selected and handed to the work queue (issue 11):
 * the tick writes one row per page (≤ 100 occurrences, JSON) and rings the queue with its id; the
 * consumer creates the page's messages (idempotent by occurrence key) and deletes the row. The row
 * is the truth, the queue message a doorbell: a page whose lease ran out is rung again by the sweep.
 */
export const programOccurrencePages = sqliteTable(
  "program_occurrence_pages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    programId: text("program_id").notNull(),
    /** `[{c: contact id, k: occurrence key, s: send at (ISO)}]`. */
    items: text("items", { mode: "json" }).$type<{ c: string; k: string; s: string }[]>().notNull(),
    /** The tick's instant (ms): what templates read as now, as when the tick created the messages itself. */
    nowMs: integer("now_ms").notNull(),
    leaseUntil: timestamp("lease_until").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("program_occurrence_pages_lease").on(t.leaseUntil)],
);
