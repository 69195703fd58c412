import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import { inJsonList } from "../../db/json-list";
import {
  carriers,
  contacts,
  messages,
  programExits,
  programs,
  stickySenders,
  suppressions,
  tenants,
  webhookEndpoints,
} from "../../db/schema";
import type { Env } from "../../env";
import type { CarrierRow } from "../../services/carriers/config";
import { hashPhones } from "../../services/contacts/consent";
import { serviceContext } from "../../services/context";
import type { Ledger } from "./ledger";
import { DEFAULT_TENANT_MPS, type LoadedBatch, type OutboxRow } from "./types";

/**
 * Step 1: everything a batch's decisions need, read in one D1 round trip (one read transaction):
 * the rows and, through sub-selects on the same ids, their tenants' rates, carriers, pinned
 * carriers, sticky senders and webhook subscriptions. The outbox row is the truth: an id whose row
 * is gone (erased) or no longer `queued` (redelivery, duplicate, canceled meanwhile) is done.
 */
export async function load(env: Env, ledger: Ledger, ids: string[]): Promise<LoadedBatch | null> {
  if (ids.length === 0) return null;
  const db = createDb(env.DB);
  const batchIds = inJsonList(ids);
  const batchTenants = sql`(SELECT tenant_id FROM messages WHERE id IN ${batchIds})`;
  const [loaded, tenantRows, carrierRows, pinned, sticky, listens] = await db.batch([
    db
      .select({
        id: messages.id,
        tenant_id: messages.tenantId,
        contact_id: messages.contactId,
        program_id: messages.programId,
        to: messages.to,
        body: messages.body,
        segments: messages.segments,
        category: messages.category,
        status: messages.status,
        expires_at: messages.expiresAt,
        carrier_id: messages.carrierId,
        carrier_pinned: messages.carrierPinned,
        attempts: messages.attempts,
        tried_carrier_ids: messages.triedCarrierIds,
        keyword_reply: messages.keywordReply,
        phone_hash: messages.phoneHash,
        suppressed_hash: sql<number | null>`(SELECT 1 FROM ${suppressions} s
          WHERE s.tenant_id = ${messages.tenantId} AND s.phone_hash = ${messages.phoneHash})`.as(
          "suppressed_hash",
        ),
        contact_subscribed: contacts.subscribed,
        contact_marketing_opt_in: contacts.marketingOptIn,
        // Aliased: D1 batch results are keyed by column name, and messages has a `status` too.
        program_status: sql<string | null>`${programs.status}`.as("program_status"),
        exited: sql<number | null>`(SELECT 1 FROM ${programExits} x
          WHERE x.program_id = ${messages.programId} AND x.contact_id = ${messages.contactId})`.as("exited"),
        quiet_hours: messages.quietHours,
        scheduled_at: messages.scheduledAt,
        contact_timezone: sql<string | null>`${contacts.timezone}`.as("contact_timezone"),
        contact_region: sql<string | null>`${contacts.region}`.as("contact_region"),
      })
      .from(messages)
      .leftJoin(contacts, and(eq(contacts.id, messages.contactId), eq(contacts.tenantId, messages.tenantId)))
      .leftJoin(programs, and(eq(programs.id, messages.programId), eq(programs.tenantId, messages.tenantId)))
      .where(sql`${messages.id} IN ${batchIds}`),
    db
      .select({
        id: tenants.id,
        mps: tenants.mps,
        timezone: tenants.timezone,
        quietHoursStart: tenants.quietHoursStart,
        quietHoursEnd: tenants.quietHoursEnd,
      })
      .from(tenants)
      .where(sql`${tenants.id} IN ${batchTenants}`),
    db
      .select()
      .from(carriers)
      .where(and(sql`${carriers.tenantId} IN ${batchTenants}`, isNull(carriers.deletedAt)))
      .orderBy(asc(carriers.priority), asc(carriers.createdAt), asc(carriers.id)),
    db
      .select()
      .from(carriers)
      .where(
        sql`${carriers.id} IN (SELECT carrier_id FROM messages WHERE id IN ${batchIds} AND carrier_pinned = 1)`,
      ),
    db
      .select({
        carrierId: stickySenders.carrierId,
        phone: stickySenders.phone,
        from: stickySenders.fromNumber,
      })
      .from(messages)
      .innerJoin(carriers, eq(carriers.tenantId, messages.tenantId))
      .innerJoin(
        stickySenders,
        and(eq(stickySenders.carrierId, carriers.id), eq(stickySenders.phone, messages.to)),
      )
      .where(sql`${messages.id} IN ${batchIds}`),
    db
      .select({ tenantId: webhookEndpoints.tenantId, events: webhookEndpoints.events })
      .from(webhookEndpoints)
      .where(
        and(
          sql`${webhookEndpoints.tenantId} IN ${batchTenants}`,
          eq(webhookEndpoints.status, "enabled"),
          isNull(webhookEndpoints.deletedAt),
        ),
      ),
  ]);
  const rows: OutboxRow[] = [];
  const seen = new Set<string>();
  for (const row of loaded) {
    seen.add(row.id);
    if (row.status === "queued") rows.push(row);
    else ledger.done(row.id);
  }
  for (const id of ids) if (!seen.has(id)) ledger.done(id);
  if (rows.length === 0) return null;

  const activeCarriers = new Map<string, CarrierRow[]>(tenantRows.map((t) => [t.id, []]));
  for (const c of carrierRows) activeCarriers.get(c.tenantId)?.push(c);
  return {
    rows,
    legacySuppressed: await legacySuppressions(env, rows),
    tenantMps: new Map(tenantRows.map((t) => [t.id, t.mps ?? DEFAULT_TENANT_MPS])),
    tenantQuiet: new Map(tenantRows.map((t) => [t.id, t])),
    activeCarriers,
    pinnedRows: new Map(pinned.map((c) => [c.id, c])),
    sticky: new Map(sticky.map((r) => [`${r.carrierId}|${r.phone}`, r.from])),
    listening: new Set(listens.flatMap((r) => r.events.map((type) => `${r.tenantId}|${type}`))),
  };
}

/**
 * Ids of rows written before messages carried `phone_hash` whose phone is on their tenant's
 * suppression list: hashed here, looked up in one query (only such rows pay for it).
 */
async function legacySuppressions(env: Env, rows: OutboxRow[]): Promise<Set<string>> {
  const unhashed = rows.filter((r) => r.phone_hash === null && !r.keyword_reply);
  if (unhashed.length === 0) return new Set();
  const tenantIds = [...new Set(unhashed.map((r) => r.tenant_id))];
  const hashed: { rowId: string; tenantId: string; hash: string }[] = [];
  for (const tenantId of tenantIds) {
    const list = unhashed.filter((r) => r.tenant_id === tenantId);
    const hashes = await hashPhones(
      serviceContext(env, tenantId),
      list.map((r) => r.to),
    );
    for (const [i, r] of list.entries()) hashed.push({ rowId: r.id, tenantId, hash: hashes[i] ?? "" });
  }
  const { results } = await env.DB.prepare(
    `SELECT tenant_id, phone_hash FROM suppressions
      WHERE tenant_id IN (SELECT value FROM json_each(?1)) AND phone_hash IN (SELECT value FROM json_each(?2))`,
  )
    .bind(JSON.stringify(tenantIds), JSON.stringify(hashed.map((h) => h.hash)))
    .all<{ tenant_id: string; phone_hash: string }>();
  const kept = new Set(results.map((r) => `${r.tenant_id}|${r.phone_hash}`));
  return new Set(hashed.filter((h) => kept.has(`${h.tenantId}|${h.hash}`)).map((h) => h.rowId));
}
