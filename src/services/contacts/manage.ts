import { and, eq, type SQL } from "drizzle-orm";
import type { ContactRow } from "../../db/rows";
import { contacts, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import type { Filter } from "../../domain/segment-filter";
import { invalidField, notFound } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { cancelPendingMessages } from "../messages/cancel";
import { listMatching, segmentReference } from "../segments/segments";
import { hashPhone, suppressStatement } from "./consent";
import { type ContactInput, upsertContact } from "./upsert";

export async function getContact(ctx: ServiceContext, id: string): Promise<ContactRow> {
  const row = await ctx.db
    .select()
    .from(contacts)
    .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.id, id)))
    .get();
  if (!row) throw notFound("Contact");
  return row;
}

export interface ContactListInput {
  limit: number;
  cursor?: string;
  phone?: string;
  external_id?: string;
  segment_id?: string;
}

/** Newest first; `phone` is normalised like a write, `segment_id` must name one of the tenant's segments. */
export async function listContacts(ctx: ServiceContext, input: ContactListInput): Promise<ContactRow[]> {
  const extra: (SQL | undefined)[] = [];
  if (input.phone !== undefined) {
    const t = await ctx.db
      .select({ c: tenants.defaultCountry })
      .from(tenants)
      .where(eq(tenants.id, ctx.tenantId))
      .get();
    const n = normalizePhone(input.phone, t?.c ?? "US");
    if (!n.ok) throw invalidField("phone", n.message);
    extra.push(eq(contacts.phone, n.e164));
  }
  if (input.external_id !== undefined) extra.push(eq(contacts.externalId, input.external_id));
  let filter: Filter | null = null;
  if (input.segment_id !== undefined)
    filter = (await segmentReference(ctx, input.segment_id)).filter as Filter;
  return listMatching(ctx, filter, input, and(...extra));
}

/** PATCH: the upsert merge rules applied to the contact with this id (its phone is its key). */
export async function patchContact(
  ctx: ServiceContext,
  id: string,
  input: Omit<ContactInput, "phone" | "country">,
): Promise<ContactRow> {
  const row = await getContact(ctx, id);
  const { contact } = await upsertContact(
    ctx,
    { ...input, phone: row.phone },
    { source: "api", defaultMarketingOptIn: true },
  );
  return contact;
}

/** A phone number with its last four digits masked (`+1512555****`), as message-record redaction does. */
const maskedPhoneSql = (column: string) => `substr(${column}, 1, max(length(${column}) - 4, 0)) || '****'`;

/**
 * Erases a contact: its row, and the personal data other records hold about it. Pending messages
 * are canceled (`contact_deleted`) first, so nothing more goes to the number; messages sent and
 * received keep their ids, statuses and times but lose the text and all but the prefix of the
 * number; event payloads, due dates, exits, sticky senders and the storefront's order link go. An
 * opt-out outlives it all as a suppression kept by keyed phone hash (written here if it is somehow
 * missing). Consent records stay: they hold only that hash, the source and the keyword text.
 */
export async function deleteContact(ctx: ServiceContext, id: string): Promise<void> {
  const row = await getContact(ctx, id);
  await cancelPendingMessages(ctx, { contactId: id }, { reason: "contact_deleted" });
  const db = ctx.env.DB;
  const t = ctx.tenantId;
  const now = new Date().toISOString();
  const statements = [
    db.prepare("DELETE FROM contacts WHERE tenant_id = ? AND id = ?").bind(t, id),
    db
      .prepare(
        `UPDATE messages SET "to" = ${maskedPhoneSql('"to"')}, body = '', updated_at = ? WHERE tenant_id = ? AND contact_id = ?`,
      )
      .bind(now, t, id),
    db
      .prepare(
        `UPDATE inbound_messages SET "from" = ${maskedPhoneSql('"from"')}, body = '' WHERE tenant_id = ? AND contact_id = ?`,
      )
      .bind(t, id),
    db.prepare("UPDATE events SET data = '{}' WHERE tenant_id = ? AND contact_id = ?").bind(t, id),
    db
      .prepare(
        "DELETE FROM sticky_senders WHERE phone = ? AND carrier_id IN (SELECT id FROM carriers WHERE tenant_id = ?)",
      )
      .bind(row.phone, t),
    ...["program_due", "program_exits", "shopify_orders"].map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE tenant_id = ? AND contact_id = ?`).bind(t, id),
    ),
  ];
  if (!row.subscribed) {
    statements.push(suppressStatement(ctx, [await hashPhone(ctx, row.phone)], row.unsubscribedAt ?? now));
  }
  await db.batch(statements);
}
