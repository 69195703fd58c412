import { and, eq, inArray, or, sql } from "drizzle-orm";
import { ALWAYS, type SqlGuard } from "../../db/guard";
import { contacts, messages, suppressions } from "../../db/schema";
import { analyzeBody } from "../../domain/encoding";
import {
  DEFAULT_QUIET_HOURS,
  FL_OK_QUIET_HOURS,
  nextAllowedMinute,
  stricterWindows,
} from "../../domain/quiet-hours";
import { mentionsStop } from "../../domain/template";
import { bodyCharacters, exceedsBodyLimit, TEMPLATE_LIMITS } from "../../domain/template-limits";
import { candidateZones, isFloridaOrOklahoma } from "../../domain/timezones";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { enqueueDispatch } from "../../pipeline/enqueue";
import { hashPhones } from "../contacts/consent";
import type { ServiceContext } from "../context";
import { getTenant, type TenantRow } from "../tenants/tenants";
import { type MessageStatus, PENDING_STATUSES, type SuppressionReason, transitionStatements } from "./status";

export type MessageRow = typeof messages.$inferSelect;

/** One message to create. The one way to create a message: API sends, programs, events, /run, keyword replies. */
export interface NewMessage {
  /** E.164 recipient. */
  to: string;
  contactId: string | null;
  /** Rendered body, without the opt-out footer (added here for marketing when the body doesn't mention STOP). */
  body: string;
  category: "transactional" | "marketing";
  quietHours: "enforce" | "ignore";
  /** When it is due (ISO); absent = now. */
  sendAt?: string;
  /** Not handed to a carrier within this many hours of its due time (or the end of quiet hours) → expired. */
  validityHours: number;
  programId?: string | null;
  /** Unique per tenant: a second create with the same key returns the first row and does nothing. */
  occurrenceKey?: string | null;
  runId?: string | null;
  eventId?: string | null;
  /** Pins the carrier (no failover to others). */
  carrierId?: string | null;
  /** Keyword replies (STOP/HELP/START confirmations) skip consent and rules 3–5. */
  keywordReply?: boolean;
  /** A status decided by the caller before the rules run (e.g. `suppressed` / `missing_data`, `exited`). */
  presetSuppression?: "missing_data" | "exited" | "invalid_number";
  /**
   * The template could not make a body (PRODUCT.md, Messages: past Herald's limits or 1,600
   * characters): the message is written `failed / template_error` with this as `error_message`,
   * recorded once for its occurrence and never enqueued.
   */
  templateError?: string;
}

export interface CreatedMessage {
  message: MessageRow;
  /** false when the occurrence key already existed (nothing new was written). */
  created: boolean;
}

/** Rows decided and written per round trip (json_each keeps each statement to a few parameters). */
const CHUNK = 100;
/** A queued row's lease: the scheduler re-rings it when this runs out 2+ minutes ago (sending rule 9). */
const LEASE_MS = 2 * 60_000;
const HOUR_MS = 3_600_000;
/** Florida and Oklahoma: at most 3 marketing messages per 24 h, whatever the tenant allows. */
const FL_OK_CAP = { max: 3, windowHours: 24 };

/** States that count as "reached queued or later" for content dedupe (rule 3). */
const DEDUPE_STATUSES = ["queued", "sending", "sent", "delivered"];
/** States that count against the frequency cap (rule 4): waiting to go out, or gone. */
const CAP_STATUSES = ["scheduled", "queued", "sending", "sent", "delivered", "undelivered"];

const jsonList = (values: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;

interface Decided {
  input: NewMessage;
  /** Index into the chunk's new rows, or the existing row when the occurrence key was taken. */
  row?: InsertRow;
  existing?: MessageRow;
  /** Another input of this call claimed the same occurrence key first. */
  aliasOf?: number;
}

/** The JSON shape of one row for the bulk INSERT (snake_case = column names). */
export interface InsertRow {
  id: string;
  event_id_: string;
  contact_id: string | null;
  program_id: string | null;
  run_id: string | null;
  event_id: string | null;
  occurrence_key: string | null;
  to: string;
  phone_hash: string | null;
  body: string;
  body_hash: string;
  encoding: string;
  segments: number;
  characters: number;
  category: string;
  quiet_hours: string;
  status: MessageStatus;
  status_reason: string | null;
  error_message: string | null;
  detail: string | null;
  scheduled_at: string | null;
  expires_at: string | null;
  next_attempt_at: string | null;
  carrier_id: string | null;
  carrier_pinned: number;
  keyword_reply: number;
  from: string | null;
  sent_at: string | null;
  attempts: number;
}

const INSERT_COLUMNS = [
  "id",
  "contact_id",
  "program_id",
  "run_id",
  "event_id",
  "occurrence_key",
  "to",
  "phone_hash",
  "body",
  "body_hash",
  "encoding",
  "segments",
  "characters",
  "category",
  "quiet_hours",
  "status",
  "status_reason",
  "error_message",
  "scheduled_at",
  "expires_at",
  "next_attempt_at",
  "carrier_id",
  "carrier_pinned",
  "keyword_reply",
  "from",
  "sent_at",
  "attempts",
] as const;

const insertMessagesSql = (
  onlyIf: string,
) => `INSERT INTO messages (tenant_id, created_at, updated_at, ${INSERT_COLUMNS.map((c) => `"${c}"`).join(", ")})
  SELECT ?1, ?2, ?2, ${INSERT_COLUMNS.map((c) => `json_extract(value, '$.${c}')`).join(", ")}
  FROM json_each(?3) WHERE ${onlyIf}
  ON CONFLICT DO NOTHING`;

// The event row exists only when its message did (an occurrence key may have been taken meanwhile).
const INSERT_EVENTS_SQL = `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
  SELECT json_extract(value, '$.event_id_'), ?1, json_extract(value, '$.id'), json_extract(value, '$.status'),
         json_extract(value, '$.detail'), ?2
  FROM json_each(?3)
  WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = json_extract(value, '$.id') AND m.tenant_id = ?1)`;

/**
 * The two statements that write outbox rows and their first event (a row whose occurrence key is
 * taken is skipped, and so is its event). With `onlyIf`, nothing is written unless it holds — for
 * rows that must stand or fall with other statements of the same batch (a keyword reply with its
 * inbound message). Rows are never enqueued here.
 */
export function insertMessageStatements(
  d1: D1Database,
  tenantId: string,
  now: string,
  rows: InsertRow[],
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement[] {
  const payload = JSON.stringify(rows);
  return [
    d1.prepare(insertMessagesSql(onlyIf.sql)).bind(tenantId, now, payload, ...onlyIf.params),
    d1.prepare(INSERT_EVENTS_SQL).bind(tenantId, now, payload),
  ];
}

/** The opt-out footer for marketing, unless the body already tells people how to stop. */
export function withFooter(body: string, footer: string): string {
  if (!footer || mentionsStop(body)) return body;
  return `${body}${body.includes("\n") ? "\n" : " "}${footer}`;
}

/** Why a final body (footer included) cannot be sent: longer than 1,600 characters; null when it can. */
export function bodyLimitError(body: string): string | null {
  if (!exceedsBodyLimit(body)) return null;
  const max = TEMPLATE_LIMITS.maxBodyChars.toLocaleString("en-US");
  return `the body is ${bodyCharacters(body).toLocaleString("en-US")} characters (opt-out footer included, when added); a message is at most ${max}`;
}

/** Candidate zones of a recipient: the contact's zone, else the number's, else the tenant's. */
export function recipientZones(
  e164: string,
  contactZone: string | null | undefined,
  tenantZone: string,
): string[] {
  if (contactZone) return [contactZone];
  const zones = candidateZones(e164);
  return zones.length > 0 ? zones : [tenantZone];
}

/** The tenant's quiet window, made stricter for Florida and Oklahoma numbers. */
export function quietWindowsFor(
  tenant: Pick<TenantRow, "quietHoursStart" | "quietHoursEnd">,
  e164: string,
  region?: string | null,
) {
  const own = {
    start: tenant.quietHoursStart || DEFAULT_QUIET_HOURS.start,
    end: tenant.quietHoursEnd || DEFAULT_QUIET_HOURS.end,
  };
  return isFloridaOrOklahoma(e164, region) ? stricterWindows(own, FL_OK_QUIET_HOURS) : [own];
}

/**
 * Applies sending rules 1–5 (consent, occurrence dedupe, content dedupe, frequency cap, quiet hours),
 * writes the outbox rows in as few statements as D1 allows, then enqueues the `queued` ones.
 * Results are in input order. Look-ups and writes are bulk per chunk of 100 inputs: one read batch
 * (contacts, suppressions, taken occurrence keys, recent bodies, cap counts) and one write batch.
 */
export async function createMessages(ctx: ServiceContext, inputs: NewMessage[]): Promise<CreatedMessage[]> {
  if (inputs.length === 0) return [];
  const tenant = await getTenant(ctx);
  const results: CreatedMessage[] = [];
  const queued: string[] = [];
  for (let i = 0; i < inputs.length; i += CHUNK) {
    const out = await createChunk(ctx, tenant, inputs.slice(i, i + CHUNK));
    for (const r of out) {
      results.push(r);
      if (r.created && r.message.status === "queued") queued.push(r.message.id);
    }
  }
  // Rows first, doorbell second: a lost enqueue is recovered by the scheduler's lease sweep.
  await enqueueDispatch(ctx.env, queued);
  return results;
}

async function createChunk(
  ctx: ServiceContext,
  tenant: TenantRow,
  inputs: NewMessage[],
): Promise<CreatedMessage[]> {
  const nowMs = Date.now();
  const now = iso(nowMs);
  const phones = [...new Set(inputs.map((m) => m.to))];
  const contactIds = [...new Set(inputs.flatMap((m) => (m.contactId ? [m.contactId] : [])))];
  const occurrenceKeys = [...new Set(inputs.flatMap((m) => (m.occurrenceKey ? [m.occurrenceKey] : [])))];
  const marketingPhones = [...new Set(inputs.filter((m) => m.category === "marketing").map((m) => m.to))];
  const phoneHashes = await hashPhones(ctx, phones);
  const hashes = new Map(phones.map((p, i) => [p, phoneHashes[i] as string]));
  const bodyHashes = await Promise.all(inputs.map((m) => sha256Hex(m.body)));

  const dedupeSince = iso(nowMs - tenant.dedupeWindowHours * HOUR_MS);
  const capSince = iso(nowMs - tenant.frequencyCapWindowHours * HOUR_MS);
  const daySince = iso(nowMs - FL_OK_CAP.windowHours * HOUR_MS);
  const capFloor = iso(nowMs - Math.max(tenant.frequencyCapWindowHours, FL_OK_CAP.windowHours) * HOUR_MS);

  const db = ctx.db;
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
          eq(contacts.tenantId, ctx.tenantId),
          or(sql`${contacts.id} IN ${jsonList(contactIds)}`, sql`${contacts.phone} IN ${jsonList(phones)}`),
        ),
      ),
    db
      .select({ phoneHash: suppressions.phoneHash })
      .from(suppressions)
      .where(
        and(
          eq(suppressions.tenantId, ctx.tenantId),
          sql`${suppressions.phoneHash} IN ${jsonList([...hashes.values()])}`,
        ),
      ),
    db
      .select()
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, ctx.tenantId),
          sql`${messages.occurrenceKey} IN ${jsonList(occurrenceKeys)}`,
        ),
      ),
    db
      .select({ to: messages.to, bodyHash: messages.bodyHash, programId: messages.programId })
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, ctx.tenantId),
          sql`${messages.to} IN ${jsonList(phones)}`,
          sql`${messages.createdAt} >= ${dedupeSince}`,
          inArray(messages.status, DEDUPE_STATUSES),
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
          eq(messages.tenantId, ctx.tenantId),
          eq(messages.category, "marketing"),
          sql`${messages.to} IN ${jsonList(marketingPhones)}`,
          sql`${messages.createdAt} >= ${capFloor}`,
          inArray(messages.status, CAP_STATUSES),
        ),
      )
      .groupBy(messages.to),
  ]);

  const contactById = new Map(contactRows.map((c) => [c.id, c]));
  const contactByPhone = new Map(contactRows.map((c) => [c.phone, c]));
  const suppressedHashes = new Set(suppressedRows.map((s) => s.phoneHash));
  const taken = new Map(takenRows.map((m) => [m.occurrenceKey, m]));
  const recent = new Map<string, (string | null)[]>();
  const remember = (to: string, bodyHash: string, programId: string | null) => {
    const k = `${to}\n${bodyHash}`;
    recent.set(k, [...(recent.get(k) ?? []), programId]);
  };
  for (const r of recentRows) remember(r.to, r.bodyHash, r.programId);
  const capCounts = new Map(
    capRows.map((r) => [r.to, { inWindow: Number(r.inWindow), inDay: Number(r.inDay) }]),
  );

  const decided: Decided[] = [];
  const claimed = new Map<string, number>();
  for (const [i, input] of inputs.entries()) {
    const key = input.occurrenceKey;
    if (key) {
      const existing = taken.get(key);
      if (existing) {
        decided.push({ input, existing });
        continue;
      }
      const first = claimed.get(key);
      if (first !== undefined) {
        decided.push({ input, aliasOf: first });
        continue;
      }
      claimed.set(key, i);
    }
    const contact =
      (input.contactId ? contactById.get(input.contactId) : undefined) ?? contactByPhone.get(input.to);
    const bodyHash = bodyHashes[i] as string;
    const marketing = input.category === "marketing";
    const rulesApply = !input.keywordReply;
    const finalBody =
      marketing && !input.keywordReply ? withFooter(input.body, tenant.optOutFooter) : input.body;
    // No path hands a carrier more than 1,600 characters: such a message fails here, once.
    const templateError = input.templateError ?? bodyLimitError(finalBody);
    const body = templateError ? "" : finalBody;
    let reason: SuppressionReason | null = templateError ? null : (input.presetSuppression ?? null);

    if (!templateError && !reason && rulesApply) {
      const hash = hashes.get(input.to);
      if (contact?.subscribed === false || (hash && suppressedHashes.has(hash))) reason = "opted_out";
      else if (marketing && !contact?.marketingOptIn) reason = "no_consent";
    }
    if (!templateError && !reason && rulesApply) {
      const seen = recent.get(`${input.to}\n${bodyHash}`) ?? [];
      const own = input.programId ?? null;
      // Occurrences of one program don't dedupe each other; anything else with the same text does.
      if (seen.some((p) => own === null || p !== own)) reason = "duplicate";
    }
    const flOk = isFloridaOrOklahoma(input.to, contact?.region);
    if (!templateError && !reason && rulesApply && marketing) {
      const counts = capCounts.get(input.to) ?? { inWindow: 0, inDay: 0 };
      if (counts.inWindow >= tenant.frequencyCapMax || (flOk && counts.inDay >= FL_OK_CAP.max))
        reason = "frequency_cap";
    }

    const analysis = analyzeBody(body);
    const parsedDue = input.sendAt ? Date.parse(input.sendAt) : Number.NaN;
    const dueMs = Number.isNaN(parsedDue) ? nowMs : parsedDue;
    let status: MessageStatus;
    let detail: string | null = reason;
    let scheduledAt: string | null = iso(dueMs);
    let expiresAt: string | null = null;
    let lease: string | null = null;

    if (templateError) {
      status = "failed";
      detail = `template_error: ${templateError}`;
    } else if (reason) {
      status = "suppressed";
    } else {
      let effectiveMs = dueMs;
      let deferred = false;
      if (input.quietHours === "enforce" && rulesApply) {
        const from = Math.max(dueMs, nowMs);
        const zones = recipientZones(input.to, contact?.timezone, tenant.timezone);
        const allowed = nextAllowedMinute(
          new Date(from),
          zones,
          quietWindowsFor(tenant, input.to, contact?.region),
        ).getTime();
        if (allowed > from) {
          effectiveMs = allowed;
          deferred = true;
        }
      }
      const expiresMs = effectiveMs + input.validityHours * HOUR_MS;
      scheduledAt = iso(effectiveMs);
      expiresAt = iso(expiresMs);
      if (expiresMs <= nowMs) {
        status = "expired";
        detail = "validity ended before the message was created";
      } else if (effectiveMs > nowMs) {
        status = "scheduled";
        detail = deferred ? `quiet hours until ${scheduledAt}` : "send_at";
      } else {
        status = "queued";
        lease = iso(nowMs + LEASE_MS);
      }
      if (status === "queued" || status === "scheduled") {
        if (status === "queued") remember(input.to, bodyHash, input.programId ?? null);
        if (marketing) {
          const c = capCounts.get(input.to) ?? { inWindow: 0, inDay: 0 };
          capCounts.set(input.to, { inWindow: c.inWindow + 1, inDay: c.inDay + 1 });
        }
      }
    }

    decided.push({
      input,
      row: {
        id: newId("message", nowMs),
        event_id_: newId("messageEvent", nowMs),
        contact_id: input.contactId ?? contact?.id ?? null,
        program_id: input.programId ?? null,
        run_id: input.runId ?? null,
        event_id: input.eventId ?? null,
        occurrence_key: key ?? null,
        to: input.to,
        phone_hash: hashes.get(input.to) ?? null,
        body,
        body_hash: bodyHash,
        encoding: analysis.encoding,
        segments: analysis.segments,
        characters: analysis.characters,
        category: input.category,
        quiet_hours: input.quietHours,
        status,
        status_reason: templateError ? "template_error" : reason,
        error_message: templateError,
        detail,
        scheduled_at: scheduledAt,
        expires_at: expiresAt,
        next_attempt_at: lease,
        carrier_id: input.carrierId ?? null,
        carrier_pinned: input.carrierId ? 1 : 0,
        keyword_reply: input.keywordReply ? 1 : 0,
        from: null,
        sent_at: null,
        attempts: 0,
      },
    });
  }

  const rows = decided.flatMap((d) => (d.row ? [d.row] : []));
  const written = new Map<string, MessageRow>();
  const raced = new Map<string, MessageRow>();
  if (rows.length > 0) {
    const ids = rows.map((r) => r.id);
    const keys = rows.flatMap((r) => (r.occurrence_key ? [r.occurrence_key] : []));
    await ctx.env.DB.batch(insertMessageStatements(ctx.env.DB, ctx.tenantId, now, rows));
    const [mine, byKey] = await db.batch([
      db
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, ctx.tenantId), sql`${messages.id} IN ${jsonList(ids)}`)),
      db
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, ctx.tenantId), sql`${messages.occurrenceKey} IN ${jsonList(keys)}`)),
    ]);
    for (const m of mine) written.set(m.id, m);
    for (const m of byKey) if (m.occurrenceKey) raced.set(m.occurrenceKey, m);
  }

  const out: CreatedMessage[] = [];
  for (const d of decided) {
    if (d.existing) out.push({ message: d.existing, created: false });
    else if (d.aliasOf !== undefined) {
      const first = out[d.aliasOf];
      if (!first) throw new Error("occurrence alias out of order");
      out.push({ message: first.message, created: false });
    } else if (d.row) {
      const mine = written.get(d.row.id);
      if (mine) out.push({ message: mine, created: true });
      else {
        // Another request claimed the occurrence key between our read and our write.
        const other = d.row.occurrence_key ? raced.get(d.row.occurrence_key) : undefined;
        if (!other) throw new Error(`message ${d.row.id} was neither written nor found`);
        out.push({ message: other, created: false });
      }
    }
  }
  return out;
}

export type CancelWhere =
  | { messageId: string }
  | { phone: string }
  | { programId: string; contactId: string }
  | { programId: string }
  | { contactId: string };

const CANCEL_PAGE = 200;

/**
 * Moves pending (`scheduled`/`queued`) messages matching `where` to `canceled`, each through
 * `transitionStatements` so it gets its event and a message that left pending meanwhile is left
 * alone. Returns how many were canceled. Used by the cancel endpoint, `exit_on`, program archive
 * and STOP.
 */
export async function cancelPendingMessages(
  ctx: ServiceContext,
  where: CancelWhere,
  options: { reason?: string | null; detail?: string | null } = {},
): Promise<number> {
  const match =
    "messageId" in where
      ? eq(messages.id, where.messageId)
      : "phone" in where
        ? eq(messages.to, where.phone)
        : "programId" in where
          ? "contactId" in where
            ? and(eq(messages.programId, where.programId), eq(messages.contactId, where.contactId))
            : eq(messages.programId, where.programId)
          : eq(messages.contactId, where.contactId);
  let canceled = 0;
  const seen = new Set<string>();
  for (;;) {
    const pending = await ctx.db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.status, [...PENDING_STATUSES]), match))
      .limit(CANCEL_PAGE);
    const fresh = pending.filter((p) => !seen.has(p.id));
    if (fresh.length === 0) return canceled;
    const at = iso();
    const statements = fresh.flatMap((p) => {
      seen.add(p.id);
      return transitionStatements(ctx.env.DB, {
        tenantId: ctx.tenantId,
        messageId: p.id,
        to: "canceled",
        at,
        detail: options.detail ?? options.reason ?? null,
        ...(options.reason ? { set: { status_reason: options.reason } } : {}),
      });
    });
    const results = await ctx.env.DB.batch(statements);
    for (let i = 0; i < results.length; i += 2) canceled += results[i]?.meta.changes ?? 0;
    if (pending.length < CANCEL_PAGE) return canceled;
  }
}
