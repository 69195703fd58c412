import { ALWAYS, type SqlGuard } from "../../db/guard";
import { IN_JSON_LIST } from "../../db/json-list";
import { fromBase64, phoneHash, toHex, utf8 } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";

export type ConsentSource =
  | "api"
  | "batch"
  | "sms"
  | "sms_phrase"
  | "shopify"
  | "standard_hook"
  | "event"
  | "carrier"
  | (string & {});

export interface ConsentChangeInput {
  /** Where the change came from (`sms` for a keyword, `sms_phrase` for a revocation in a sentence, `api` for a write, `carrier` for Advanced Opt-Out…). */
  source: ConsentSource;
  /** Verbatim text: the inbound message or the consent language shown to the person. */
  text?: string | null;
  /** When it happened (ISO); now when absent. */
  at?: string;
}

export interface ConsentChangeResult {
  /** True when the phone's consent state changed (contact flag or suppression). */
  changed: boolean;
  /** The contact with this phone, if there is one. */
  contactId: string | null;
}

/** The keyed hash under which opt-outs are kept (HMAC from ENCRYPTION_KEY, never a bare SHA-256). */
export const hashPhone = (ctx: ServiceContext, e164: string): Promise<string> =>
  phoneHash(ctx.env.ENCRYPTION_KEY, ctx.tenantId, e164);

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/**
 * Keyed hashes of many phones, in input order: byte for byte `phoneHash` of src/lib/crypto.ts, but
 * the HMAC key is imported once per isolate instead of once per phone (a 1,000-row batch would
 * otherwise spend most of its time importing the same key).
 */
export async function hashPhones(ctx: ServiceContext, e164s: string[]): Promise<string[]> {
  let key = hmacKeys.get(ctx.env.ENCRYPTION_KEY);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      fromBase64(ctx.env.ENCRYPTION_KEY),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    hmacKeys.set(ctx.env.ENCRYPTION_KEY, key);
  }
  const k = await key;
  return Promise.all(
    e164s.map(async (p) => toHex(await crypto.subtle.sign("HMAC", k, utf8(`phone:${ctx.tenantId}:${p}`)))),
  );
}

/** One append-only consent record (PRODUCT.md: source, verbatim text, time). */
export interface ConsentRecordRow {
  change: "subscribed" | "unsubscribed" | "marketing_opt_in" | "marketing_opt_out";
  phoneHash: string;
  /** The contact it belongs to; absent or null: the contact with `phone` when the statement runs, if any. */
  contactId?: string | null;
  phone?: string;
  /** Where the change came from (the door: `api`, `sms`, `carrier`…). */
  source: ConsentSource;
  /** The source the caller declared (`consent.source` of a contact write). */
  declaredSource?: string | null;
  text?: string | null;
  at: string;
}

/**
 * The one statement that appends consent records — any number, as one JSON parameter. Every
 * consent change of Herald is written here: opt-outs and opt-ins from any door, contact writes.
 */
export function consentRecordsStatement(
  ctx: ServiceContext,
  rows: readonly ConsentRecordRow[],
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  const json = rows.map((r) => ({
    id: newId("consent"),
    contact_id: r.contactId ?? null,
    phone: r.phone ?? null,
    phone_hash: r.phoneHash,
    change: r.change,
    source: r.source,
    declared_source: r.declaredSource ?? null,
    text: r.text ?? null,
    at: r.at,
  }));
  const field = (k: string) => `json_extract(value, '$.${k}')`;
  return ctx.env.DB.prepare(
    `INSERT INTO consent_records (id, tenant_id, contact_id, phone_hash, change, source, declared_source, text, at, created_at)
     SELECT ${field("id")}, ?,
            COALESCE(${field("contact_id")}, (SELECT c.id FROM contacts c WHERE c.tenant_id = ? AND c.phone = ${field("phone")})),
            ${field("phone_hash")}, ${field("change")}, ${field("source")}, ${field("declared_source")}, ${field("text")},
            ${field("at")}, ?
     FROM json_each(?) WHERE ${onlyIf.sql}`,
  ).bind(ctx.tenantId, ctx.tenantId, nowIso(), JSON.stringify(json), ...onlyIf.params);
}

/** Keeps these phone hashes on the tenant's opt-out list (a hash already there keeps its date). */
export function suppressStatement(
  ctx: ServiceContext,
  hashes: readonly string[],
  at: string,
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  return ctx.env.DB.prepare(
    `INSERT INTO suppressions (tenant_id, phone_hash, reason, created_at)
     SELECT ?, value, 'opted_out', ? FROM json_each(?) WHERE ${onlyIf.sql}
     ON CONFLICT (tenant_id, phone_hash) DO NOTHING`,
  ).bind(ctx.tenantId, at, JSON.stringify(hashes), ...onlyIf.params);
}

/** Lifts these phone hashes off the tenant's opt-out list. */
export function unsuppressStatement(
  ctx: ServiceContext,
  hashes: readonly string[],
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement {
  return ctx.env.DB.prepare(
    `DELETE FROM suppressions WHERE tenant_id = ? AND phone_hash IN ${IN_JSON_LIST} AND ${onlyIf.sql}`,
  ).bind(ctx.tenantId, JSON.stringify(hashes), ...onlyIf.params);
}

const consentRecordStatement = (
  ctx: ServiceContext,
  e164: string,
  hash: string,
  change: "subscribed" | "unsubscribed",
  input: ConsentChangeInput & { at: string },
  onlyIf: SqlGuard,
): D1PreparedStatement =>
  consentRecordsStatement(
    ctx,
    [{ change, phone: e164, phoneHash: hash, source: input.source, text: input.text ?? null, at: input.at }],
    onlyIf,
  );

/**
 * The contact's `subscribed` switch of this phone flipped to `subscribed` (an opt-out stamps
 * `unsubscribed_at` with `at`, a resubscription clears it). Returns the contact id when it changed.
 */
function contactSwitchStatement(
  ctx: ServiceContext,
  e164: string,
  subscribed: boolean,
  at: string,
  onlyIf: SqlGuard,
): D1PreparedStatement {
  return ctx.env.DB.prepare(
    `UPDATE contacts SET subscribed = ?, unsubscribed_at = ?, updated_at = ?
     WHERE tenant_id = ? AND phone = ? AND subscribed = ? AND ${onlyIf.sql} RETURNING id`,
  ).bind(
    subscribed ? 1 : 0,
    subscribed ? null : at,
    nowIso(),
    ctx.tenantId,
    e164,
    subscribed ? 0 : 1,
    ...onlyIf.params,
  );
}

/**
 * The statements of an opt-out, to run in one `db.batch()` (with anything that must stand with
 * them): the contact (if any) becomes unsubscribed, the suppression by phone hash is kept, the
 * request is appended to the consent history. With `onlyIf`, none of them does anything unless it
 * holds. The first statement returns the contact id when the contact flag changed; the second
 * reports one change when the suppression is new.
 */
export function unsubscribeStatements(
  ctx: ServiceContext,
  e164: string,
  hash: string,
  input: ConsentChangeInput & { at: string },
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement[] {
  return [
    contactSwitchStatement(ctx, e164, false, input.at, onlyIf),
    suppressStatement(ctx, [hash], input.at, onlyIf),
    consentRecordStatement(ctx, e164, hash, "unsubscribed", input, onlyIf),
  ];
}

/** The statements that lift an opt-out (see `resubscribePhone`); `onlyIf` as for `unsubscribeStatements`. */
export function resubscribeStatements(
  ctx: ServiceContext,
  e164: string,
  hash: string,
  input: ConsentChangeInput & { at: string },
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement[] {
  return [
    contactSwitchStatement(ctx, e164, true, input.at, onlyIf),
    unsuppressStatement(ctx, [hash], onlyIf),
    consentRecordStatement(ctx, e164, hash, "subscribed", input, onlyIf),
  ];
}

/**
 * A condition on the phone's consent state before a change, for statements that must happen only
 * when the change changes something (the `contact.unsubscribed` webhook): evaluated where it
 * stands in the batch, so put it before the change's own statements.
 */
export function consentWouldChange(
  ctx: ServiceContext,
  e164: string,
  hash: string,
  change: "subscribed" | "unsubscribed",
): SqlGuard {
  const unsubscribing = change === "unsubscribed";
  return {
    sql: `EXISTS (SELECT 1 FROM contacts WHERE tenant_id = ? AND phone = ? AND subscribed = ?)
          OR ${unsubscribing ? "NOT " : ""}EXISTS (SELECT 1 FROM suppressions WHERE tenant_id = ? AND phone_hash = ?)`,
    params: [ctx.tenantId, e164, unsubscribing ? 1 : 0, ctx.tenantId, hash],
  };
}

/**
 * Opts a phone out: the contact (if any) becomes unsubscribed, the suppression by phone hash is
 * kept (it outlives the contact), and the request is appended to the consent history — all in one
 * transaction. Calling it twice changes nothing the second time (`changed: false`), but both
 * requests stay in the history.
 */
export async function unsubscribePhone(
  ctx: ServiceContext,
  e164: string,
  input: ConsentChangeInput,
): Promise<ConsentChangeResult> {
  const at = input.at ?? nowIso();
  const hash = await hashPhone(ctx, e164);
  const [update, suppress] = await ctx.env.DB.batch<{ id: string }>(
    unsubscribeStatements(ctx, e164, hash, { ...input, at }),
  );
  const contact = await contactIdByPhone(ctx, e164);
  return {
    changed: (update?.results.length ?? 0) > 0 || (suppress?.meta.changes ?? 0) > 0,
    contactId: contact,
  };
}

/**
 * Lifts an opt-out (START from that phone, or a write carrying a new consent record): the contact
 * becomes subscribed, the suppression is removed, the change is appended to the consent history.
 */
export async function resubscribePhone(
  ctx: ServiceContext,
  e164: string,
  input: ConsentChangeInput,
): Promise<ConsentChangeResult> {
  const at = input.at ?? nowIso();
  const hash = await hashPhone(ctx, e164);
  const [update, unsuppress] = await ctx.env.DB.batch<{ id: string }>(
    resubscribeStatements(ctx, e164, hash, { ...input, at }),
  );
  return {
    changed: (update?.results.length ?? 0) > 0 || (unsuppress?.meta.changes ?? 0) > 0,
    contactId: await contactIdByPhone(ctx, e164),
  };
}

async function contactIdByPhone(ctx: ServiceContext, e164: string): Promise<string | null> {
  const row = await ctx.env.DB.prepare(`SELECT id FROM contacts WHERE tenant_id = ? AND phone = ?`)
    .bind(ctx.tenantId, e164)
    .first<{ id: string }>();
  return row?.id ?? null;
}

/**
 * Which of these phone hashes are suppressed (opted out) for the tenant: one statement for any
 * number of hashes (the list travels as one JSON parameter).
 */
export async function suppressedPhoneHashes(ctx: ServiceContext, hashes: string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await ctx.env.DB.prepare(
    `SELECT phone_hash FROM suppressions
     WHERE tenant_id = ? AND phone_hash IN ${IN_JSON_LIST}`,
  )
    .bind(ctx.tenantId, JSON.stringify(hashes))
    .all<{ phone_hash: string }>();
  return new Set(rows.results.map((r) => r.phone_hash));
}

/** Which of these E.164 phones are suppressed (opted out) for the tenant. */
export async function suppressedPhones(ctx: ServiceContext, e164s: string[]): Promise<Set<string>> {
  const unique = [...new Set(e164s)];
  const hashes = await hashPhones(ctx, unique);
  const suppressed = await suppressedPhoneHashes(ctx, hashes);
  return new Set(unique.filter((_, i) => suppressed.has(hashes[i] ?? "")));
}

/** True when the phone is opted out for the tenant (kept even after the contact was deleted). */
export async function isPhoneSuppressed(ctx: ServiceContext, e164: string): Promise<boolean> {
  return (await suppressedPhones(ctx, [e164])).size > 0;
}
