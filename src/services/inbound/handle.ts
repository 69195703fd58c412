import type { InboundSms } from "../../carriers/types";
import { both, type SqlGuard } from "../../db/guard";
import { IN_JSON_LIST } from "../../db/json-list";
import type { TenantRow } from "../../db/rows";
import { classifyKeyword, type KeywordKind } from "../../domain/keywords";
import { normalizePhone } from "../../domain/phone";
import { classifyRevocation } from "../../domain/revocation";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { enqueueDispatch } from "../../pipeline/enqueue";
import {
  type ConsentSource,
  consentWouldChange,
  hashPhone,
  resubscribeStatements,
  unsubscribeStatements,
} from "../contacts/consent";
import type { ServiceContext } from "../context";
import { insertMessageStatements } from "../messages/create";
import { cancelPendingToPhoneStatements, keywordReplyRow } from "../messages/keyword-reply";
import { defaultHelpText, defaultStopText, getTenant } from "../tenants/tenants";
import {
  enqueueWebhookDeliveries,
  listeningEndpointsStatement,
  type WebhookEventType,
  webhookDeliveriesStatement,
} from "../webhooks/emit";

/** The START confirmation: brand, what happens now, how to stop again. */
export const startText = (t: Pick<TenantRow, "brandName">): string =>
  `${t.brandName}: You're resubscribed and will get our texts again. Reply HELP for help, STOP to opt out.`;

/** What an inbound text asks for: a keyword family (exact, or a revocation in a sentence) or nothing. */
export interface InboundIntent {
  keyword: KeywordKind | null;
  /** The consent record's source: `sms` (keyword), `sms_phrase` (sentence), `carrier` (Advanced Opt-Out). */
  source: ConsentSource;
}

/** Exact keywords first; a sentence that revokes consent ("please stop texting me") counts as STOP. */
export function inboundIntent(sms: Pick<InboundSms, "body" | "carrierHandledOptOut">): InboundIntent {
  const exact = classifyKeyword(sms.body);
  const keyword = exact ?? (classifyRevocation(sms.body) ? "stop" : null);
  const source = sms.carrierHandledOptOut ? "carrier" : exact || !keyword ? "sms" : "sms_phrase";
  return { keyword, source };
}

/** Every webhook type an inbound message may fire (a retry looks for the deliveries of any of them). */
const INBOUND_WEBHOOK_TYPES = [
  "contact.unsubscribed",
  "contact.subscribed",
  "message.received",
] as const satisfies WebhookEventType[];

/**
 * The delivery id of one inbound message's webhook to one endpoint: derived, not random, so a
 * carrier's retry finds the deliveries the first attempt wrote and can ring them again.
 */
async function inboundDeliveryId(inboundId: string, endpointId: string, type: WebhookEventType) {
  const digest = await sha256Hex(`${inboundId}|${endpointId}|${type}`);
  // newId's shape: the inbound's time part, then 14 characters (hex is a subset of base62).
  return `whd_${inboundId.slice(4, 13)}${digest.slice(0, 14)}`;
}

const replyKey = (sms: InboundSms, inboundId: string) =>
  occurrenceKey.keywordReply(sms.carrierMessageId ?? inboundId);

/**
 * An inbound SMS from a verified carrier callback. Keywords (STOP/START/HELP families) and
 * revocations in other words change consent and answer once; other texts are stored and sent to
 * webhooks as `message.received`.
 *
 * Everything this message changes — the inbound row, the consent change and its record, the
 * cancellation of pending messages, the reply's outbox row, the webhook deliveries — is written in
 * one `db.batch()`, every statement guarded by "the inbound row this attempt inserted exists": it
 * all happens, once, or none of it does. Queue doorbells are rung after the batch; a carrier's
 * retry of the same message (same carrier message id) finds the row and rings again whatever is
 * still waiting (a queued reply never tried, deliveries never attempted), and changes nothing else.
 *
 * The reply (STOP confirmation, HELP, START) is an outbox message like any other, on every
 * provider — Twilio included, whose TwiML answer is empty: an inline TwiML reply could be recorded
 * and then lost with the process before the answer left, and it never gets a status callback. As
 * an outbox row it is sent once (its occurrence key is the inbound carrier message id), recovered
 * by the sweep when its doorbell is lost (rule 9), and tracked to `delivered`. An attempt whose
 * doorbell fails answers 5xx, so a carrier that retries does; the lease sweeps cover one that
 * does not.
 */
export async function handleInboundSms(
  ctx: ServiceContext,
  carrier: { id: string; provider: string },
  sms: InboundSms,
): Promise<void> {
  const tenant = await getTenant(ctx);
  const normalized = normalizePhone(sms.from, tenant.defaultCountry);
  const phone = normalized.ok ? normalized.e164 : sms.from.trim();
  const intent = inboundIntent(sms);
  const hash = await hashPhone(ctx, phone);
  const db = ctx.env.DB;

  const [existingRows, contactRows, endpointRows] = await db.batch<Record<string, string>>([
    db
      .prepare(`SELECT id FROM inbound_messages WHERE tenant_id = ? AND carrier_message_id = ?`)
      .bind(ctx.tenantId, sms.carrierMessageId ?? null),
    db.prepare(`SELECT id FROM contacts WHERE tenant_id = ? AND phone = ?`).bind(ctx.tenantId, phone),
    listeningEndpointsStatement(ctx.env, ctx.tenantId, INBOUND_WEBHOOK_TYPES),
  ]);
  const endpoints = (endpointRows?.results ?? []).map((r) => ({
    id: r.id as string,
    events: JSON.parse(r.events as string) as string[],
  }));
  const existing = existingRows?.results[0]?.id;
  if (existing) {
    await ringUndone(ctx, existing, replyKey(sms, existing), endpoints);
    return;
  }

  const receivedAt = nowIso();
  const inboundId = newId("inbound");
  const contactId = (contactRows?.results[0]?.id as string | undefined) ?? null;
  const mine: SqlGuard = { sql: "EXISTS (SELECT 1 FROM inbound_messages WHERE id = ?)", params: [inboundId] };
  const statements: D1PreparedStatement[] = [
    db
      .prepare(
        `INSERT INTO inbound_messages (id, tenant_id, contact_id, carrier_id, "from", "to", body, keyword, carrier_message_id, received_at, created_at)
         VALUES (?, ?, (SELECT id FROM contacts WHERE tenant_id = ? AND phone = ?), ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, carrier_message_id) DO NOTHING`,
      )
      .bind(
        inboundId,
        ctx.tenantId,
        ctx.tenantId,
        phone,
        carrier.id,
        phone,
        sms.to,
        sms.body,
        intent.keyword,
        sms.carrierMessageId ?? null,
        receivedAt,
        receivedAt,
      ),
  ];

  // Webhooks first: a consent webhook fires only when the change changes something, which is
  // decided on the state before the consent statements below.
  const hook = webhookFor(intent.keyword);
  let deliveryIds: string[] = [];
  let hookIndex = -1;
  if (hook) {
    const rows = await Promise.all(
      endpoints
        .filter((e) => e.events.includes(hook))
        .map(async (e) => ({ id: await inboundDeliveryId(inboundId, e.id, hook), endpoint_id: e.id })),
    );
    deliveryIds.push(...rows.map((r) => r.id));
    const data =
      hook === "message.received"
        ? {
            id: inboundId,
            from: phone,
            to: sms.to,
            body: sms.body,
            contact_id: contactId,
            carrier_id: carrier.id,
            carrier_message_id: sms.carrierMessageId ?? null,
            received_at: receivedAt,
          }
        : { contact_id: contactId, phone, source: intent.source, text: sms.body, at: receivedAt };
    const onlyIf =
      hook === "message.received"
        ? mine
        : both(
            mine,
            consentWouldChange(
              ctx,
              phone,
              hash,
              hook === "contact.unsubscribed" ? "unsubscribed" : "subscribed",
            ),
          );
    if (rows.length > 0) {
      hookIndex = statements.length;
      statements.push(
        webhookDeliveriesStatement(ctx.env, ctx.tenantId, hook, data, rows, receivedAt, onlyIf),
      );
    }
  }

  const consent = { source: intent.source, text: sms.body, at: receivedAt };
  if (intent.keyword === "stop") {
    statements.push(
      ...unsubscribeStatements(ctx, phone, hash, consent, mine),
      ...cancelPendingToPhoneStatements(db, ctx.tenantId, phone, {
        reason: "opted_out",
        detail: "STOP received",
        at: receivedAt,
        onlyIf: mine,
      }),
    );
  } else if (intent.keyword === "start") {
    statements.push(...resubscribeStatements(ctx, phone, hash, consent, mine));
  }

  // Twilio's Advanced Opt-Out answered already: record the change, send no second reply.
  const replyText = intent.keyword && !sms.carrierHandledOptOut ? replyFor(tenant, intent.keyword) : null;
  let replyId: string | null = null;
  if (replyText) {
    const row = await keywordReplyRow({
      to: phone,
      phoneHash: hash,
      contactId,
      body: replyText,
      carrierId: carrier.id,
      occurrenceKey: replyKey(sms, inboundId),
    });
    replyId = row.id;
    statements.push(...insertMessageStatements(db, ctx.tenantId, receivedAt, [row], mine));
  }

  const outcome = await commit(ctx, statements, inboundId);
  if (outcome === "lost") {
    // A concurrent attempt of the same carrier message inserted it first: it owns the effects.
    const winner = await existingId(ctx, sms);
    if (winner) await ringUndone(ctx, winner, replyKey(sms, winner), endpoints);
    return;
  }
  // The deliveries written (a consent webhook is skipped when nothing changed); all of them when
  // the batch's answer was lost — ringing a delivery that does not exist does nothing.
  if (outcome !== "committed" && hookIndex >= 0) {
    deliveryIds = ((outcome[hookIndex]?.results ?? []) as { id: string }[]).map((r) => r.id);
  }

  if (replyId) await enqueueDispatch(ctx.env, [replyId]);
  if (deliveryIds.length > 0) await enqueueWebhookDeliveries(ctx.env, deliveryIds);
}

const webhookFor = (keyword: KeywordKind | null): WebhookEventType | null =>
  keyword === "stop"
    ? "contact.unsubscribed"
    : keyword === "start"
      ? "contact.subscribed"
      : keyword === "help"
        ? null
        : "message.received";

const replyFor = (tenant: TenantRow, keyword: KeywordKind): string =>
  keyword === "stop"
    ? (tenant.stopText ?? defaultStopText(tenant))
    : keyword === "start"
      ? startText(tenant)
      : (tenant.helpText ?? defaultHelpText(tenant));

/**
 * Runs the batch. Its results when this attempt's inbound row was inserted (and so every guarded
 * effect with it); `"lost"` when another attempt had inserted it. When the batch throws, its fate
 * is read back: D1 may have committed it and lost the answer (`"committed"`), and then the attempt
 * carries on as the owner instead of leaving the reply unanswered.
 */
async function commit(
  ctx: ServiceContext,
  statements: D1PreparedStatement[],
  inboundId: string,
): Promise<D1Result[] | "committed" | "lost"> {
  try {
    const results = await ctx.env.DB.batch(statements);
    return (results[0]?.meta.changes ?? 0) > 0 ? results : "lost";
  } catch (err) {
    const row = await ctx.env.DB.prepare(`SELECT 1 AS ok FROM inbound_messages WHERE id = ?`)
      .bind(inboundId)
      .first<{ ok: number }>()
      .catch(() => null);
    if (row) return "committed";
    throw err;
  }
}

async function existingId(ctx: ServiceContext, sms: InboundSms): Promise<string | null> {
  if (!sms.carrierMessageId) return null;
  const row = await ctx.env.DB.prepare(
    `SELECT id FROM inbound_messages WHERE tenant_id = ? AND carrier_message_id = ?`,
  )
    .bind(ctx.tenantId, sms.carrierMessageId)
    .first<{ id: string }>();
  return row?.id ?? null;
}

/**
 * A retry of an inbound message that was already written: rings again the reply that was never
 * tried and the webhook deliveries never attempted (a job claims its row, so a second ring of
 * something already under way does nothing).
 */
async function ringUndone(
  ctx: ServiceContext,
  inboundId: string,
  occurrenceKey: string,
  endpoints: { id: string }[],
): Promise<void> {
  const candidates = await Promise.all(
    endpoints.flatMap((e) => INBOUND_WEBHOOK_TYPES.map((type) => inboundDeliveryId(inboundId, e.id, type))),
  );
  const db = ctx.env.DB;
  const now = nowIso();
  const [replies, deliveries] = await db.batch<{ id: string }>([
    db
      .prepare(
        `SELECT id FROM messages
         WHERE tenant_id = ? AND occurrence_key = ? AND status = 'queued' AND attempts = 0`,
      )
      .bind(ctx.tenantId, occurrenceKey),
    db
      .prepare(
        `SELECT id FROM webhook_deliveries
         WHERE tenant_id = ? AND id IN ${IN_JSON_LIST} AND status = 'pending' AND attempts = 0
           AND (next_attempt_at IS NULL OR next_attempt_at <= ?)`,
      )
      .bind(ctx.tenantId, JSON.stringify(candidates), now),
  ]);
  const replyIds = (replies?.results ?? []).map((r) => r.id);
  const deliveryIds = (deliveries?.results ?? []).map((r) => r.id);
  if (replyIds.length > 0) await enqueueDispatch(ctx.env, replyIds);
  if (deliveryIds.length > 0) await enqueueWebhookDeliveries(ctx.env, deliveryIds);
}
