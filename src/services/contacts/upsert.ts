import { and, eq, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import type { ContactRow } from "../../db/rows";
import { type AttributeValue, contacts, suppressions, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import { inferTimezone } from "../../domain/timezones";
import { newId } from "../../lib/ids";
import { type FieldError, HttpProblem } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { fireContactCreated } from "../events/contact-created";
import { refreshContactDue } from "../programs/due";
import { emitWebhookEvent } from "../webhooks/emit";
import { hashPhones } from "./consent";
import { type ConsentWrite, type Plain, plain, sameRow } from "./upsert-rows";
import { upsertWriteStatements } from "./upsert-write";

/** The body of `POST /v1/contacts` (snake_case); every field but `phone` optional, `null` clears. */
export interface ContactInput {
  phone: string;
  /** Parsing hint for a national number; not stored. */
  country?: string;
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  external_id?: string | null;
  timezone?: string | null;
  locale?: string | null;
  birthday?: string | null;
  /** Merged key by key; `null` removes a key. */
  attributes?: Record<string, AttributeValue | null>;
  subscribed?: boolean;
  marketing_opt_in?: boolean;
  consent?: { source: string; text?: string | null; at?: string };
}

export type UpsertSource = "api" | "batch" | "shopify" | "standard_hook" | "event" | "sms";

export interface UpsertOptions {
  source: UpsertSource;
  /** `marketing_opt_in` of a contact created without one (true for /v1, false for hooks and events). */
  defaultMarketingOptIn: boolean;
  /** Skips reading the tenant when the caller already knows its default country. */
  defaultCountry?: string;
}

export type UpsertOutcome =
  | { ok: true; contact: ContactRow; created: boolean }
  | { ok: false; status: 409 | 422; errors: FieldError[] };

/**
 * Upserts one contact by phone (PRODUCT.md "upsert merge" and "consent"): 201-style `created: true`
 * for a new phone, else the merged row. Throws 422 naming `phone` for an invalid number and 409 when
 * `external_id` belongs to another contact. Fires `contact.created` only on creation.
 */
export async function upsertContact(
  ctx: ServiceContext,
  input: ContactInput,
  opts: UpsertOptions,
): Promise<{ contact: ContactRow; created: boolean }> {
  const [outcome] = await upsertContacts(ctx, [input], opts);
  if (!outcome) throw new Error("upsertContacts returned no outcome");
  if (!outcome.ok) {
    const detail = outcome.errors.map((e) => `${e.path}: ${e.message}`).join("; ");
    throw new HttpProblem(outcome.status === 409 ? "conflict" : "validation_failed", detail, outcome.errors);
  }
  return { contact: outcome.contact, created: outcome.created };
}

/**
 * Upserts many contacts in a handful of D1 statements whatever their number: one batch of reads
 * (existing phones, external ids, suppressions), then one transaction with one multi-row upsert
 * (`INSERT … SELECT … FROM json_each(?) ON CONFLICT DO UPDATE`), the consent records, the
 * suppression changes and a read-back. Outcomes come back in input order; a bad row never fails
 * the others. Later rows with the same phone merge onto earlier ones.
 */
export async function upsertContacts(
  ctx: ServiceContext,
  inputs: ContactInput[],
  opts: UpsertOptions,
): Promise<UpsertOutcome[]> {
  const outcomes: (UpsertOutcome | undefined)[] = new Array(inputs.length);
  if (inputs.length === 0) return [];
  let defaultCountry = opts.defaultCountry;
  if (!defaultCountry) {
    const t = await ctx.db
      .select({ c: tenants.defaultCountry })
      .from(tenants)
      .where(eq(tenants.id, ctx.tenantId))
      .get();
    defaultCountry = t?.c ?? "US";
  }

  const phones: (string | undefined)[] = inputs.map((input, i) => {
    const n = normalizePhone(input.phone, input.country ?? defaultCountry);
    if (!n.ok) {
      outcomes[i] = { ok: false, status: 422, errors: [{ path: "phone", message: n.message }] };
      return undefined;
    }
    return n.e164;
  });
  const distinctPhones = [...new Set(phones.filter((p): p is string => p !== undefined))];
  if (distinctPhones.length === 0) return outcomes as UpsertOutcome[];
  const hashes = await hashPhones(ctx, distinctPhones);
  const hashOf = new Map(distinctPhones.map((p, i) => [p, hashes[i] ?? ""]));
  const externalIds = [
    ...new Set(
      inputs
        .map((inp, i) => (phones[i] ? inp.external_id : undefined))
        .filter((x): x is string => typeof x === "string"),
    ),
  ];

  const [existingRows, externalRows, suppressionRows] = await ctx.db.batch([
    ctx.db
      .select()
      .from(contacts)
      .where(
        and(eq(contacts.tenantId, ctx.tenantId), sql`${contacts.phone} IN ${inJsonList(distinctPhones)}`),
      ),
    ctx.db
      .select({ externalId: contacts.externalId, phone: contacts.phone })
      .from(contacts)
      .where(
        and(eq(contacts.tenantId, ctx.tenantId), sql`${contacts.externalId} IN ${inJsonList(externalIds)}`),
      ),
    ctx.db
      .select({ phoneHash: suppressions.phoneHash, createdAt: suppressions.createdAt })
      .from(suppressions)
      .where(
        and(eq(suppressions.tenantId, ctx.tenantId), sql`${suppressions.phoneHash} IN ${inJsonList(hashes)}`),
      ),
  ]);

  const current = new Map<string, Plain>(existingRows.map((r) => [r.phone, plain(r)]));
  const original = new Map<string, Plain>(existingRows.map((r) => [r.phone, plain(r)]));
  const externalOwner = new Map<string, string>();
  for (const r of externalRows) if (r.externalId) externalOwner.set(r.externalId, r.phone);
  const suppressedSince = new Map(suppressionRows.map((r) => [r.phoneHash, r.createdAt]));
  const createdPhones = new Set<string>();
  const consentWrites: ConsentWrite[] = [];
  const suppress = new Set<string>();
  const unsuppress = new Set<string>();
  const webhookChanges: { phone: string; type: "contact.unsubscribed" | "contact.subscribed" }[] = [];
  const now = nowIso();

  inputs.forEach((input, i) => {
    const phone = phones[i];
    if (!phone) return;
    const hash = hashOf.get(phone) ?? "";
    const before = current.get(phone);
    if (input.external_id) {
      const owner = externalOwner.get(input.external_id);
      if (owner !== undefined && owner !== phone) {
        outcomes[i] = {
          ok: false,
          status: 409,
          errors: [{ path: "external_id", message: "belongs to another contact" }],
        };
        return;
      }
    }
    const creating = before === undefined;
    const row: Plain = before
      ? { ...before, attributes: { ...before.attributes } }
      : {
          id: newId("contact"),
          tenantId: ctx.tenantId,
          phone,
          firstName: null,
          lastName: null,
          email: null,
          externalId: null,
          timezone: inferTimezone(phone),
          locale: null,
          birthday: null,
          attributes: {},
          subscribed: true,
          marketingOptIn: opts.defaultMarketingOptIn,
          unsubscribedAt: null,
          createdFiredAt: null,
          createdAt: now,
          updatedAt: now,
        };
    if (input.first_name !== undefined) row.firstName = input.first_name;
    if (input.last_name !== undefined) row.lastName = input.last_name;
    if (input.email !== undefined) row.email = input.email;
    if (input.external_id !== undefined) row.externalId = input.external_id;
    if (input.timezone !== undefined)
      row.timezone = input.timezone ?? (creating ? inferTimezone(phone) : null);
    if (input.locale !== undefined) row.locale = input.locale;
    if (input.birthday !== undefined) row.birthday = input.birthday;
    if (input.attributes) {
      for (const [k, v] of Object.entries(input.attributes)) {
        if (v === null) delete row.attributes[k];
        else row.attributes[k] = v;
      }
    }
    const consentAt = input.consent?.at ?? now;
    const record = (change: ConsentWrite["change"], fromConsent: boolean) =>
      consentWrites.push({
        contactId: row.id,
        phone,
        change,
        source: opts.source,
        declaredSource: fromConsent ? (input.consent?.source ?? null) : null,
        text: fromConsent ? (input.consent?.text ?? null) : null,
        at: fromConsent ? consentAt : now,
      });

    if (creating) {
      const optedOutAt = suppressedSince.get(hash);
      if (input.subscribed === false) {
        row.subscribed = false;
        row.unsubscribedAt = now;
        suppress.add(hash);
        record("unsubscribed", Boolean(input.consent));
      } else if (optedOutAt !== undefined && !input.consent) {
        // The phone opted out before (and was erased since): the opt-out outlives the contact.
        row.subscribed = false;
        row.unsubscribedAt = optedOutAt;
      } else {
        if (optedOutAt !== undefined) unsuppress.add(hash);
        record("subscribed", true);
      }
      if (input.marketing_opt_in !== undefined) row.marketingOptIn = input.marketing_opt_in;
    } else {
      if (input.subscribed === false && row.subscribed) {
        row.subscribed = false;
        row.unsubscribedAt = now;
        suppress.add(hash);
        unsuppress.delete(hash);
        record("unsubscribed", Boolean(input.consent));
        webhookChanges.push({ phone, type: "contact.unsubscribed" });
      } else if (input.consent && input.subscribed !== false) {
        // Only a new consent record lifts an opt-out; `subscribed: true` alone does not.
        if (!row.subscribed) {
          row.subscribed = true;
          row.unsubscribedAt = null;
          unsuppress.add(hash);
          suppress.delete(hash);
          webhookChanges.push({ phone, type: "contact.subscribed" });
        }
        record("subscribed", true);
      }
      if (input.marketing_opt_in !== undefined && input.marketing_opt_in !== row.marketingOptIn) {
        row.marketingOptIn = input.marketing_opt_in;
        record(input.marketing_opt_in ? "marketing_opt_in" : "marketing_opt_out", Boolean(input.consent));
      }
    }
    if (before?.externalId && before.externalId !== row.externalId) externalOwner.delete(before.externalId);
    if (row.externalId) externalOwner.set(row.externalId, phone);
    if (creating) createdPhones.add(phone);
    current.set(phone, row);
    outcomes[i] = { ok: true, contact: row as ContactRow, created: creating };
  });

  const toWrite = [...current.values()].filter((row) => {
    const orig = original.get(row.phone);
    if (orig && sameRow(orig, row)) return false;
    if (orig) row.updatedAt = now;
    return true;
  });

  if (toWrite.length > 0 || consentWrites.length > 0 || suppress.size > 0 || unsuppress.size > 0) {
    const writtenIds = toWrite.map((r) => r.id);
    // One transaction: the contacts, their consent history and the suppressions stand or fall together.
    await ctx.env.DB.batch(
      upsertWriteStatements(ctx, {
        rows: toWrite,
        consentWrites,
        suppress,
        unsuppress,
        hashOf,
        current,
        now,
      }),
    );
    const written = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), sql`${contacts.id} IN ${inJsonList(writtenIds)}`))
      .all();
    const byId = new Map(written.map((r) => [r.id, r]));
    for (const o of outcomes) {
      if (o?.ok) o.contact = byId.get(o.contact.id) ?? (current.get(o.contact.phone) as ContactRow);
    }
  } else {
    const unchanged = new Map(existingRows.map((r) => [r.id, r]));
    for (const o of outcomes) if (o?.ok) o.contact = unchanged.get(o.contact.id) ?? o.contact;
  }

  // Each contact once, in its final state, however many rows of the batch touched it.
  const finalById = new Map<string, ContactRow>();
  for (const o of outcomes) if (o?.ok) finalById.set(o.contact.id, o.contact);
  for (const o of outcomes) if (o?.ok) o.contact = finalById.get(o.contact.id) ?? o.contact;

  // Created now, or by an earlier attempt whose contact.created work died after the insert.
  const created = [...finalById.values()].filter(
    (r) => createdPhones.has(r.phone) || r.createdFiredAt === null,
  );
  if (created.length > 0) await fireContactCreated(ctx, created);
  // Date triggers and per-contact schedules are materialised from these fields: re-arm them on change.
  const rescheduled = [...finalById.values()].filter((r) => {
    const before = original.get(r.phone);
    return (
      before !== undefined &&
      !createdPhones.has(r.phone) &&
      (before.timezone !== r.timezone ||
        before.birthday !== r.birthday ||
        JSON.stringify(before.attributes) !== JSON.stringify(r.attributes ?? {}))
    );
  });
  if (rescheduled.length > 0)
    await refreshContactDue(
      ctx,
      rescheduled.map((r) => r.id),
    );
  if (webhookChanges.length > 0) await notifyConsentChanges(ctx, webhookChanges, current);
  return outcomes as UpsertOutcome[];
}

async function notifyConsentChanges(
  ctx: ServiceContext,
  changes: { phone: string; type: "contact.unsubscribed" | "contact.subscribed" }[],
  rows: Map<string, Plain>,
): Promise<void> {
  const work = Promise.all(
    changes.map((c) =>
      emitWebhookEvent(ctx.env, ctx.tenantId, c.type, {
        contact_id: rows.get(c.phone)?.id ?? null,
        phone: c.phone,
        source: "api",
      }),
    ),
  ).catch((err) =>
    console.error(JSON.stringify({ level: "error", message: `consent webhook: ${String(err)}` })),
  );
  if (ctx.waitUntil) ctx.waitUntil(work);
  else await work;
}
