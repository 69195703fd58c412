/**
 * Step 1 of creation: every fact the rules need for a chunk of inputs, in one read batch —
 * the contacts (by id and by phone), the kept opt-outs (by keyed phone hash), the occurrence keys
 * already taken, the recent bodies per phone (content dedupe) and the marketing counts per phone
 * (frequency cap). No decision is made here.
 */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { inJsonList } from "../../../db/json-list";
import type { MessageRow, TenantRow } from "../../../db/rows";
import { contacts, messages, suppressions } from "../../../db/schema";
import { CAP_STATUSES, type CapCounts, DEDUPE_STATUSES, FL_OK_CAP } from "../../../domain/rules";
import { sha256Hex } from "../../../lib/crypto";
import { iso } from "../../../lib/time";
import { hashPhones } from "../../contacts/consent";
import type { ServiceContext } from "../../context";
import type { NewMessage } from "./types";

const HOUR_MS = 3_600_000;

/** What the rules need of a contact. */
export interface ContactFacts {
  id: string;
  phone: string;
  timezone: string | null;
  region: string | null;
  subscribed: boolean;
  marketingOptIn: boolean;
}

/** The facts of one chunk (maps keyed by what the rules look up). */
export interface CreateFacts {
  contactById: ReadonlyMap<string, ContactFacts>;
  contactByPhone: ReadonlyMap<string, ContactFacts>;
  /** Keyed hash of every recipient phone. */
  phoneHashes: ReadonlyMap<string, string>;
  /** Hashes on the tenant's kept opt-out list. */
  suppressedHashes: ReadonlySet<string>;
  /** Rows that already hold an occurrence key of the chunk. */
  taken: ReadonlyMap<string, MessageRow>;
  /** `recentKey(to, bodyHash)` → the programs of messages with that body that reached `queued` or later. */
  recent: ReadonlyMap<string, readonly (string | null)[]>;
  /** Marketing messages per phone counted against the cap. */
  capCounts: ReadonlyMap<string, CapCounts>;
  /** SHA-256 of each input's body (footer excluded), in input order. */
  bodyHashes: readonly string[];
}

/** The content-dedupe key of a phone and a body hash. */
export const recentKey = (to: string, bodyHash: string): string => `${to}\n${bodyHash}`;

const unique = (values: (string | null | undefined)[]): string[] => [
  ...new Set(values.filter((v): v is string => Boolean(v))),
];

/** Reads the facts of `inputs` (one hashing pass, one read batch). */
export async function gatherFacts(
  ctx: ServiceContext,
  tenant: Pick<TenantRow, "dedupeWindowHours" | "frequencyCapWindowHours">,
  inputs: NewMessage[],
  nowMs: number,
): Promise<CreateFacts> {
  const phones = unique(inputs.map((m) => m.to));
  const contactIds = unique(inputs.map((m) => m.contactId));
  const occurrenceKeys = unique(inputs.map((m) => m.occurrenceKey));
  const marketingPhones = unique(inputs.filter((m) => m.category === "marketing").map((m) => m.to));
  const hashes = await hashPhones(ctx, phones);
  const phoneHashes = new Map(phones.map((p, i) => [p, hashes[i] as string]));
  const bodyHashes = await Promise.all(inputs.map((m) => sha256Hex(m.body)));

  const since = (hours: number) => iso(nowMs - hours * HOUR_MS);
  const capSince = since(tenant.frequencyCapWindowHours);
  const daySince = since(FL_OK_CAP.windowHours);
  const capFloor = since(Math.max(tenant.frequencyCapWindowHours, FL_OK_CAP.windowHours));

  const db = ctx.db;
  const t = ctx.tenantId;
  const [contactRows, suppressedRows, takenRows, recentRows, capRows] = await db.batch([
    db
      .select({
        id: contacts.id,
        phone: contacts.phone,
        timezone: contacts.timezone,
        region: contacts.region,
        subscribed: contacts.subscribed,
        marketingOptIn: contacts.marketingOptIn,
      })
      .from(contacts)
      .where(
        and(
          eq(contacts.tenantId, t),
          or(
            sql`${contacts.id} IN ${inJsonList(contactIds)}`,
            sql`${contacts.phone} IN ${inJsonList(phones)}`,
          ),
        ),
      ),
    db
      .select({ phoneHash: suppressions.phoneHash })
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, t), sql`${suppressions.phoneHash} IN ${inJsonList(hashes)}`)),
    db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, t), sql`${messages.occurrenceKey} IN ${inJsonList(occurrenceKeys)}`)),
    db
      .select({ to: messages.to, bodyHash: messages.bodyHash, programId: messages.programId })
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, t),
          sql`${messages.to} IN ${inJsonList(phones)}`,
          sql`${messages.createdAt} >= ${since(tenant.dedupeWindowHours)}`,
          inArray(messages.status, [...DEDUPE_STATUSES]),
        ),
      ),
    db
      .select({
        to: messages.to,
        inWindow: sql<number>`sum(${messages.createdAt} >= ${capSince})`.as("in_window"),
        inDay: sql<number>`sum(${messages.createdAt} >= ${daySince})`.as("in_day"),
      })
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, t),
          eq(messages.category, "marketing"),
          sql`${messages.to} IN ${inJsonList(marketingPhones)}`,
          sql`${messages.createdAt} >= ${capFloor}`,
          inArray(messages.status, [...CAP_STATUSES]),
        ),
      )
      .groupBy(messages.to),
  ]);

  const recent = new Map<string, (string | null)[]>();
  for (const r of recentRows) {
    const k = recentKey(r.to, r.bodyHash);
    recent.set(k, [...(recent.get(k) ?? []), r.programId]);
  }
  const taken = new Map<string, MessageRow>();
  for (const m of takenRows) if (m.occurrenceKey) taken.set(m.occurrenceKey, m);
  return {
    contactById: new Map(contactRows.map((c) => [c.id, c])),
    contactByPhone: new Map(contactRows.map((c) => [c.phone, c])),
    phoneHashes,
    suppressedHashes: new Set(suppressedRows.map((s) => s.phoneHash)),
    taken,
    recent,
    capCounts: new Map(capRows.map((r) => [r.to, { inWindow: Number(r.inWindow), inDay: Number(r.inDay) }])),
    bodyHashes,
  };
}
