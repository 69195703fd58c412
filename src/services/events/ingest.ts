import { and, eq, inArray, sql } from "drizzle-orm";
import { type ContactRow, type ProgramRow, type RawRow, rowFromRaw, type TenantRow } from "../../db/rows";
import { contacts, events, programs, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import { derivedId, newId } from "../../lib/ids";
import { HttpProblem, invalidField } from "../../lib/problem";
import { addMinutes, iso, nowIso } from "../../lib/time";
import { upsertContact } from "../contacts/upsert";
import type { ServiceContext } from "../context";
import { cancelPendingMessages } from "../messages/create";
import { inAudience } from "../programs/audience";
import { createOccurrenceMessages, exitFieldValue } from "../programs/execute";
import { loadTenant } from "../programs/scope";

export interface EventInput {
  /** The caller's id of the event: its identity, before any Idempotency-Key or delivery id. */
  id?: string;
  name: string;
  contact: { id: string } | { phone: string } | { external_id: string };
  data?: Record<string, unknown>;
  occurred_at?: string;
}

export interface EventProgramOutcome {
  program_id: string;
  message_id: string | null;
  outcome: string;
}

/**
 * What makes two reports one event (PRODUCT.md, Events): the caller's `id`, else the
 * Idempotency-Key, else the storefront delivery id. The same identity always gives the same event
 * id, hence the same occurrence keys: processing it again creates no second message. Null = none
 * (every call is a new event).
 */
export type EventIdentity = {
  /** `batch_row`: `${Idempotency-Key}:${index}` of a row of `POST /v1/events/batch` without its own id. */
  kind: "id" | "idempotency_key" | "delivery" | "batch_row";
  value: string;
} | null;

/**
 * The program and tenant reads an event needs, memoized: one `ingestEvent` makes a fresh set, a
 * batch shares one across its rows (programs are not changed by ingesting events).
 */
export interface EventLookups {
  /** Active and paused programs triggered by `name`. */
  triggered(name: string): Promise<ProgramRow[]>;
  /** Active and paused programs whose `exit_on` names `name`. */
  exiting(name: string): Promise<ProgramRow[]>;
  tenant(): Promise<TenantRow>;
}

export function eventLookups(ctx: ServiceContext): EventLookups {
  const memo = <T>(load: (name: string) => Promise<T>) => {
    const seen = new Map<string, Promise<T>>();
    return (name: string) => {
      let p = seen.get(name);
      if (!p) {
        p = load(name);
        seen.set(name, p);
      }
      return p;
    };
  };
  const live = inArray(programs.status, ["active", "paused"]);
  let tenant: Promise<TenantRow> | undefined;
  return {
    triggered: memo(
      async (name) =>
        (await ctx.db
          .select()
          .from(programs)
          .where(and(eq(programs.tenantId, ctx.tenantId), live, eq(programs.triggerEvent, name)))
          .all()) as ProgramRow[],
    ),
    exiting: memo(
      async (name) =>
        (await ctx.db
          .select()
          .from(programs)
          .where(
            and(
              eq(programs.tenantId, ctx.tenantId),
              live,
              sql`EXISTS (SELECT 1 FROM json_each(${programs.exitOn}) WHERE value = ${name})`,
            ),
          )
          .all()) as ProgramRow[],
    ),
    tenant: () => {
      tenant ??= loadTenant(ctx);
      return tenant;
    },
  };
}

export interface IngestedEvent {
  id: string;
  name: string;
  contact_id: string;
  programs: EventProgramOutcome[];
}

async function resolveContact(
  ctx: ServiceContext,
  ref: EventInput["contact"],
  source: { kind: "api" | "shopify" | "standard_hook"; marketingOptIn?: boolean },
): Promise<ContactRow> {
  /** The contact named by an id the caller gave, or a 422 naming the field. */
  const named = async (
    column: typeof contacts.id | typeof contacts.externalId,
    value: string,
    field: string,
  ) => {
    const c = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), eq(column, value)))
      .get();
    if (!c) throw invalidField(field, "does not exist");
    return c;
  };
  if ("id" in ref) return named(contacts.id, ref.id, "contact.id");
  if ("external_id" in ref) return named(contacts.externalId, ref.external_id, "contact.external_id");
  const tenant = await ctx.db
    .select({ c: tenants.defaultCountry })
    .from(tenants)
    .where(eq(tenants.id, ctx.tenantId))
    .get();
  const n = normalizePhone(ref.phone, tenant?.c ?? "US");
  if (!n.ok) throw invalidField("contact.phone", n.message);
  const existing = await ctx.db
    .select()
    .from(contacts)
    .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.phone, n.e164)))
    .get();
  if (existing) return existing;
  // A new phone becomes a contact (contact.created fires inside upsertContact).
  const { contact } = await upsertContact(
    ctx,
    { phone: n.e164, ...(source.marketingOptIn ? { marketing_opt_in: true } : {}) },
    { source: source.kind === "api" ? "event" : source.kind, defaultMarketingOptIn: false },
  );
  return contact;
}

// One statement per exiting program for any number of contacts (json_each: D1's 100 parameters).
const UPSERT_EXITS_SQL = `INSERT INTO program_exits (program_id, contact_id, tenant_id, field_value, event_id, at)
  SELECT ?1, json_extract(value, '$.contact_id'), ?2, json_extract(value, '$.field_value'),
         json_extract(value, '$.event_id'), ?3
  FROM json_each(?4) WHERE true
  ON CONFLICT (program_id, contact_id) DO UPDATE SET
    field_value = excluded.field_value, event_id = excluded.event_id, at = excluded.at`;

/**
 * `exit_on`: cancel the program's pending messages for the contact and hold later occurrences.
 * Several events of one name at once (distinct contacts: a batch) take the same statements.
 */
export async function applyExits(
  ctx: ServiceContext,
  name: string,
  items: readonly { contact: ContactRow; eventId: string }[],
  lookups: EventLookups,
): Promise<void> {
  if (items.length === 0) return;
  const exiting = await lookups.exiting(name);
  const at = nowIso();
  for (const p of exiting) {
    const rows = items.map(({ contact, eventId }) => ({
      contact_id: contact.id,
      field_value: exitFieldValue(p, contact),
      event_id: eventId,
    }));
    await ctx.env.DB.prepare(UPSERT_EXITS_SQL).bind(p.id, ctx.tenantId, at, JSON.stringify(rows)).run();
    const [only] = items;
    await cancelPendingMessages(
      ctx,
      items.length === 1 && only
        ? { programId: p.id, contactId: only.contact.id }
        : { programId: p.id, contactIds: items.map((i) => i.contact.id) },
      { reason: "exited", detail: `exit_on ${name}` },
    );
  }
}

/** What `runEventPrograms` needs of one event occurrence. */
export interface EventOccurrence {
  id: string | null;
  key: string;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Runs the programs an event names for one contact. Shared by POST /v1/events, storefront hooks
 * and `contact.created`; the occurrence key `pg:ct:<occurrence>` makes a replay create nothing new.
 */
export async function runEventPrograms(
  ctx: ServiceContext,
  name: string,
  contact: ContactRow,
  occurrence: EventOccurrence,
  lookups: EventLookups = eventLookups(ctx),
): Promise<EventProgramOutcome[]> {
  const [out] = await runEventProgramsMany(ctx, name, [{ contact, occurrence }], lookups);
  return out ?? [];
}

/**
 * `runEventPrograms` for several events of one name at once (each program reads its audience and
 * creates its messages once for all of them); outcomes per event, in order. The contacts must be
 * distinct: events of one contact interact (dedupe, cap) and are run one after another instead.
 */
export async function runEventProgramsMany(
  ctx: ServiceContext,
  name: string,
  items: readonly { contact: ContactRow; occurrence: EventOccurrence }[],
  lookups: EventLookups = eventLookups(ctx),
): Promise<EventProgramOutcome[][]> {
  const out: EventProgramOutcome[][] = items.map(() => []);
  const triggered = await lookups.triggered(name);
  if (triggered.length === 0 || items.length === 0) return out;
  const tenant = await lookups.tenant();
  for (const p of triggered) {
    if (p.status === "paused") {
      for (const o of out) o.push({ program_id: p.id, message_id: null, outcome: "paused" });
      continue;
    }
    const audience = await inAudience(
      ctx,
      p,
      items.map((it) => it.contact.id),
    );
    const members = items.flatMap((it, k) => (audience.has(it.contact.id) ? [k] : []));
    const delay = p.trigger.type === "event" ? (p.trigger.delay_minutes ?? 0) : 0;
    const created = await createOccurrenceMessages(
      ctx,
      p,
      tenant,
      members.map((k) => {
        const { contact, occurrence } = items[k] as (typeof items)[number];
        const base = Math.max(Date.parse(occurrence.at) || Date.now(), Date.now() - 60_000);
        return {
          contact,
          occurrenceKey: occurrenceKey.event(p.id, contact.id, occurrence.key),
          sendAt: delay > 0 ? addMinutes(iso(base), delay) : nowIso(),
          event: { ...occurrence.data, name, id: occurrence.id, occurred_at: occurrence.at },
          eventId: occurrence.id,
        };
      }),
    );
    const byItem = new Map(members.map((k, j) => [k, created[j]?.message]));
    out.forEach((o, k) => {
      if (!byItem.has(k)) {
        o.push({ program_id: p.id, message_id: null, outcome: "not_in_audience" });
        return;
      }
      const m = byItem.get(k);
      o.push({
        program_id: p.id,
        message_id: m?.id ?? null,
        outcome:
          m?.status === "suppressed" && m.statusReason === "exited" ? "exited" : (m?.status ?? "suppressed"),
      });
    });
  }
  return out;
}

/**
 * Records an event and runs every active program triggered by its name for that contact (a new
 * phone creates the contact); `exit_on` matches cancel. Used by POST /v1/events and storefront hooks.
 * An event with an identity is written once: a retry (after a crash, a 5xx or a queue redelivery)
 * finds the stored event, keeps its data and time, and finishes whatever the first attempt left
 * undone without a second message. An identity already used for another name or contact is a 409.
 */
export async function ingestEvent(
  ctx: ServiceContext,
  input: EventInput,
  source: { kind: "api" | "shopify" | "standard_hook"; marketingOptIn?: boolean },
  fallbackIdentity: EventIdentity = null,
): Promise<IngestedEvent> {
  const contact = await resolveContact(ctx, input.contact, source);
  return recordEvent(ctx, input, contact, source.kind, fallbackIdentity);
}

/**
 * `ingestEvent` once the contact is known (a batch resolves the contacts of all its rows at once):
 * stores the event under its identity, applies `exit_on`, runs the triggered programs.
 */
export async function recordEvent(
  ctx: ServiceContext,
  input: EventInput,
  contact: ContactRow,
  sourceKind: "api" | "shopify" | "standard_hook",
  fallbackIdentity: EventIdentity = null,
  lookups: EventLookups = eventLookups(ctx),
): Promise<IngestedEvent> {
  const identity: EventIdentity = input.id ? { kind: "id", value: input.id } : fallbackIdentity;
  const id = identity
    ? await derivedId("event", ctx.tenantId, identity.kind, identity.value)
    : newId("event");
  const now = nowIso();
  const occurredMs = input.occurred_at ? Date.parse(input.occurred_at) : Number.NaN;
  // One statement: a new event is inserted, a known one is returned as it was first stored.
  const returned = await ctx.env.DB.prepare(
    `INSERT INTO events (id, tenant_id, name, contact_id, data, occurred_at, source, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET id = events.id
     RETURNING *`,
  )
    .bind(
      id,
      ctx.tenantId,
      input.name,
      contact.id,
      JSON.stringify(input.data ?? {}),
      Number.isFinite(occurredMs) ? iso(occurredMs) : now,
      sourceKind,
      now,
    )
    .first<RawRow>();
  if (!returned) throw new Error("the event insert returned no row");
  const stored = rowFromRaw(events, returned);
  if (stored.name !== input.name || stored.contactId !== contact.id) {
    throw new HttpProblem(
      "conflict",
      identity?.kind === "id"
        ? "An event with this id was already reported with another name or contact"
        : "This event was already reported with another name or contact",
    );
  }
  await applyExits(ctx, input.name, [{ contact, eventId: id }], lookups);
  const outcomes = await runEventPrograms(
    ctx,
    input.name,
    contact,
    { id, key: id, at: stored.occurredAt, data: stored.data },
    lookups,
  );
  return { id, name: input.name, contact_id: contact.id, programs: outcomes };
}
