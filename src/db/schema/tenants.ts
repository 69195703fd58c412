import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestamp, updatedAt } from "./columns";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  brandName: text("brand_name").notNull(),
  defaultCountry: text("default_country").notNull().default("US"),
  timezone: text("timezone").notNull().default("America/New_York"),
  supportContact: text("support_contact"),
  quietHoursStart: text("quiet_hours_start").notNull().default("21:00"),
  quietHoursEnd: text("quiet_hours_end").notNull().default("08:00"),
  frequencyCapMax: integer("frequency_cap_max").notNull().default(3),
  frequencyCapWindowHours: integer("frequency_cap_window_hours").notNull().default(24),
  dedupeWindowHours: integer("dedupe_window_hours").notNull().default(24),
  helpText: text("help_text"),
  stopText: text("stop_text"),
  optOutFooter: text("opt_out_footer").notNull().default("Reply STOP to opt out."),
  /** Tenant-wide send rate (segments/s), the second token bucket. */
  mps: integer("mps").notNull().default(100),
  /**
   * Days final messages, their events and inbound messages stay in D1 before export to the archive
   * (operator setting; stored and returned, the export itself is a later issue).
   */
  retentionDays: integer("retention_days").notNull().default(90),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    /** First characters of the key, shown in lists so people can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 hex of the whole key; the key itself is never stored. */
    hash: text("hash").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    lastUsedAt: timestamp("last_used_at"),
    revokedAt: timestamp("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("api_keys_hash").on(t.hash),
    index("api_keys_tenant").on(t.tenantId, t.createdAt, t.id),
  ],
);

/** Key/value state of the Worker itself (e.g. the scheduler's last tick). */
export const systemState = sqliteTable("system_state", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});
