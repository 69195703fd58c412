import { and, eq, inArray, sql } from "drizzle-orm";
import { contacts, events, programExits, programs, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { invalidField } from "../../lib/problem";
import { addMinutes, iso, nowIso } from "../../lib/time";
import { upsertContact } from "../contacts/upsert";
import type { ServiceContext } from "../context";
import { inAudience } from "../programs/audience";
import { cancelProgramPending } from "../programs/cancel";
import { exitFieldValue, sendOccurrences } from "../programs/execute";
import type { ContactRow, ProgramRow } from "../programs/scope";
import { loadTenant } from "../programs/scope";

export interface EventInput {
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
  if ("id" in ref) {
    const c = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.id, ref.id)))
      .get();
    if (!c) throw invalidField("contact.id", "does not exist");
    return c;
  }
  if ("external_id" in ref) {
    const c = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.externalId, ref.external_id)))
      .get();
    if (!c) throw invalidField("contact.external_id", "does not exist");
    return c;
  }
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

/** `exit_on`: cancel the program's pending messages for the contact and hold later occurrences. */
async function applyExits(
  ctx: ServiceContext,
  name: string,
  contact: ContactRow,
  eventId: string,
): Promise<void> {
  const exiting = await ctx.db
    .select()
    .from(programs)
    .where(
      and(
        eq(programs.tenantId, ctx.tenantId),
        inArray(programs.status, ["active", "paused"]),
        sql`EXISTS (SELECT 1 FROM json_each(${programs.exitOn}) WHERE value = ${name})`,
      ),
    )
    .all();
  const at = nowIso();
  for (const p of exiting) {
    await ctx.db
      .insert(programExits)
      .values({
        programId: p.id,
        contactId: contact.id,
        tenantId: ctx.tenantId,
        fieldValue: exitFieldValue(p, contact),
        eventId,
        at,
      })
      .onConflictDoUpdate({
        target: [programExits.programId, programExits.contactId],
        set: { fieldValue: exitFieldValue(p, contact), eventId, at },
      });
    await cancelProgramPending(ctx, p.id, contact.id, `exit_on ${name}`);
  }
}

/**
 * Runs the programs an event names for one contact. Shared by POST /v1/events, storefront hooks
 * and `contact.created`; the occurrence key `pg:ct:<occurrence>` makes a replay create nothing new.
 */
export async function runEventPrograms(
  ctx: ServiceContext,
  name: string,
  contact: ContactRow,
  occurrence: { id: string | null; key: string; at: string; data: Record<string, unknown> },
): Promise<EventProgramOutcome[]> {
  const triggered = await ctx.db
    .select()
    .from(programs)
    .where(
      and(
        eq(programs.tenantId, ctx.tenantId),
        inArray(programs.status, ["active", "paused"]),
        eq(programs.triggerEvent, name),
      ),
    )
    .all();
  if (triggered.length === 0) return [];
  const tenant = await loadTenant(ctx);
  const out: EventProgramOutcome[] = [];
  for (const p of triggered as ProgramRow[]) {
    if (p.status === "paused") {
      out.push({ program_id: p.id, message_id: null, outcome: "paused" });
      continue;
    }
    const audience = await inAudience(ctx, p, [contact.id]);
    if (!audience.has(contact.id)) {
      out.push({ program_id: p.id, message_id: null, outcome: "not_in_audience" });
      continue;
    }
    const delay = p.trigger.type === "event" ? (p.trigger.delay_minutes ?? 0) : 0;
    const base = Math.max(Date.parse(occurrence.at) || Date.now(), Date.now() - 60_000);
    const sendAt = delay > 0 ? addMinutes(iso(base), delay) : nowIso();
    const [created] = await sendOccurrences(ctx, p, tenant, [
      {
        contact,
        occurrenceKey: `${p.id}:${contact.id}:${occurrence.key}`,
        sendAt,
        event: { ...occurrence.data, name, id: occurrence.id, occurred_at: occurrence.at },
        eventId: occurrence.id,
      },
    ]);
    const m = created?.message;
    out.push({
      program_id: p.id,
      message_id: m?.id ?? null,
      outcome:
        m?.status === "suppressed" && m.statusReason === "exited" ? "exited" : (m?.status ?? "suppressed"),
    });
  }
  return out;
}

/**
 * Records an event and runs every active program triggered by its name for that contact (a new
 * phone creates the contact); `exit_on` matches cancel. Used by POST /v1/events and storefront hooks.
 */
export async function ingestEvent(
  ctx: ServiceContext,
  input: EventInput,
  source: { kind: "api" | "shopify" | "standard_hook"; marketingOptIn?: boolean },
): Promise<IngestedEvent> {
  const contact = await resolveContact(ctx, input.contact, source);
  const id = newId("event");
  const now = nowIso();
  const occurredMs = input.occurred_at ? Date.parse(input.occurred_at) : Number.NaN;
  const occurredAt = Number.isFinite(occurredMs) ? iso(occurredMs) : now;
  const data = input.data ?? {};
  await ctx.db.insert(events).values({
    id,
    tenantId: ctx.tenantId,
    name: input.name,
    contactId: contact.id,
    data,
    occurredAt,
    source: source.kind,
    createdAt: now,
  });
  await applyExits(ctx, input.name, contact, id);
  const outcomes = await runEventPrograms(ctx, input.name, contact, { id, key: id, at: occurredAt, data });
  return { id, name: input.name, contact_id: contact.id, programs: outcomes };
}
