import { sql } from "drizzle-orm";
import { index, integer, numeric, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { bool, createdAt, timestamp, updatedAt } from "./columns";

export type AttributeValue = string | number | boolean;

/** Generated column over a well-known attribute so segment filters can use an index. */
const attr = (key: string) =>
  text(key).generatedAlwaysAs(sql.raw(`json_extract(attributes, '$.${key}')`), { mode: "virtual" });

export const contacts = sqliteTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** E.164. */
    phone: text("phone").notNull(),
    firstName: text("first_name"),
    lastName: text("last_name"),
    email: text("email"),
    externalId: text("external_id"),
    /** IANA zone, given or inferred from the number when certain. */
    timezone: text("timezone"),
    locale: text("locale"),
    /** "YYYY-MM-DD" or "--MM-DD". */
    birthday: text("birthday"),
    /** "MM-DD" of the birthday: the scheduler's index for birthday programs. */
    birthdayMd: text("birthday_md").generatedAlwaysAs(sql`substr(birthday, -5)`, { mode: "virtual" }),
    birthdayMonth: integer("birthday_month").generatedAlwaysAs(
      sql`cast(substr(birthday, -5, 2) as integer)`,
      {
        mode: "virtual",
      },
    ),
    attributes: text("attributes", { mode: "json" })
      .$type<Record<string, AttributeValue>>()
      .notNull()
      .default({}),
    gender: attr("gender"),
    income: numeric("income").generatedAlwaysAs(sql`json_extract(attributes, '$.income')`, {
      mode: "virtual",
    }),
    city: attr("city"),
    region: attr("region"),
    country: attr("country"),
    postalCode: text("postal_code").generatedAlwaysAs(sql`json_extract(attributes, '$.postal_code')`, {
      mode: "virtual",
    }),
    subscribed: bool("subscribed").notNull().default(true),
    marketingOptIn: bool("marketing_opt_in").notNull().default(false),
    unsubscribedAt: timestamp("unsubscribed_at"),
    /**
     * When the `contact.created` work (its programs, its date triggers) finished; null until then.
     * A creation whose trigger work died is finished by the next write of the contact or by the
     * scheduler's lease sweep (PRODUCT.md: acknowledged means durable).
     */
    createdFiredAt: timestamp("created_fired_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("contacts_tenant_phone").on(t.tenantId, t.phone),
    index("contacts_created_unfired").on(t.createdAt).where(sql`created_fired_at IS NULL`),
    uniqueIndex("contacts_tenant_external_id").on(t.tenantId, t.externalId),
    index("contacts_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("contacts_tenant_birthday_md").on(t.tenantId, t.birthdayMd),
    index("contacts_tenant_birthday_month").on(t.tenantId, t.birthdayMonth),
    index("contacts_tenant_city").on(t.tenantId, t.city),
    index("contacts_tenant_region").on(t.tenantId, t.region),
    index("contacts_tenant_country").on(t.tenantId, t.country),
    index("contacts_tenant_gender").on(t.tenantId, t.gender),
    index("contacts_tenant_income").on(t.tenantId, t.income),
    index("contacts_tenant_postal_code").on(t.tenantId, t.postalCode),
    index("contacts_tenant_subscribed").on(t.tenantId, t.subscribed),
  ],
);

/** Append-only consent history (never updated, never deleted with the contact's personal data). */
export const consentRecords = sqliteTable(
  "consent_records",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    contactId: text("contact_id"),
    /** Keyed phone hash, so the record stays meaningful after the contact is erased. */
    phoneHash: text("phone_hash").notNull(),
    /** subscribed | unsubscribed | marketing_opt_in | marketing_opt_out */
    change: text("change").notNull(),
    /** api | batch | sms | shopify | standard_hook | event | carrier */
    source: text("source").notNull(),
    /** Where the caller says consent was collected (`consent.source` of the request, e.g. "checkout"). */
    declaredSource: text("declared_source"),
    /** Verbatim consent language or inbound text. */
    text: text("text"),
    at: text("at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("consent_contact").on(t.tenantId, t.contactId, t.at),
    index("consent_phone").on(t.tenantId, t.phoneHash, t.at),
  ],
);

/** Opt-outs by keyed phone hash: outlive contact deletion. */
export const suppressions = sqliteTable(
  "suppressions",
  {
    tenantId: text("tenant_id").notNull(),
    phoneHash: text("phone_hash").notNull(),
    reason: text("reason").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("suppressions_pk").on(t.tenantId, t.phoneHash)],
);

export const segments = sqliteTable(
  "segments",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    filter: text("filter", { mode: "json" }).$type<unknown>().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("segments_tenant_created").on(t.tenantId, t.createdAt, t.id)],
);
