import { and, eq } from "drizzle-orm";
import type { CarrierStatusUpdate } from "../../carriers/types";
import type { MessageRow } from "../../db/rows";
import { messages } from "../../db/schema";
import { nowIso } from "../../lib/time";
import { carrierOptOutStatements } from "../contacts/carrier-opt-out";
import type { ServiceContext } from "../context";
import { type MessageStatus, movedIds, transitionStatements } from "../messages/status";
import { messageWebhookStatement, ringWebhooks, writtenDeliveries } from "../webhooks/in-batch";

const digits = (phone: string): string => phone.replace(/\D/g, "");

/**
 * The message a callback is about, from what the carrier signed: our id where the signature covers
 * it (Twilio's URL, Vonage's client-ref, Telnyx's webhook_url), else the carrier's message id.
 * An unsigned hint (Telnyx's and Vonage's query string) is followed only for a message of this
 * carrier that has no carrier message id yet (its create response was lost), when the signed body
 * names a carrier message id and, if it names a recipient, that message's phone. So a captured
 * callback replayed with another `message_id` can move no other message.
 */
async function findMessage(
  ctx: ServiceContext,
  carrier: { id: string },
  update: CarrierStatusUpdate,
): Promise<MessageRow | undefined> {
  const byId = (id: string) =>
    ctx.db
      .select()
      .from(messages)
      .where(and(eq(messages.id, id), eq(messages.tenantId, ctx.tenantId)))
      .get();
  if (update.messageId) {
    const found = await byId(update.messageId);
    if (found) return found;
  }
  if (update.carrierMessageId) {
    const found = await ctx.db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.carrierMessageId, update.carrierMessageId)))
      .get();
    if (found) return found;
  }
  if (!update.messageIdHint || !update.carrierMessageId) return undefined;
  const hinted = await byId(update.messageIdHint);
  if (!hinted || hinted.carrierMessageId !== null) return undefined;
  if (hinted.carrierId !== null && hinted.carrierId !== carrier.id) return undefined;
  if (update.recipient && digits(update.recipient) !== digits(hinted.to)) return undefined;
  return hinted;
}

export interface StatusCallbackOutcome {
  /** The message was found. */
  matched: boolean;
  /** Its status moved (false for a duplicate or a late, older state). */
  changed: boolean;
  /** The message's `to`, for the caller's opt-out handling. */
  phone?: string;
}

/**
 * Applies a carrier's status report. Status only moves forward (ALLOWED_FROM); a `failed` message
 * is lifted only when its failure was `unknown_outcome` (the process died mid-call and the carrier
 * sent it after all). Each change writes one message event and its `message.<status>` deliveries,
 * in one batch.
 */
export async function applyStatusUpdate(
  ctx: ServiceContext,
  carrier: { id: string },
  update: CarrierStatusUpdate,
): Promise<StatusCallbackOutcome> {
  const msg = await findMessage(ctx, carrier, update);
  if (!msg) return { matched: false, changed: false };
  const to = update.status as MessageStatus;
  const liftable = msg.status === "failed" && msg.statusReason === "unknown_outcome";
  const from = (["queued", "sending", "sent", ...(liftable ? ["failed"] : [])] as MessageStatus[]).filter(
    (s) => s !== to,
  );
  const at = nowIso();
  const set: Record<string, string | number | null> = {};
  if (update.carrierMessageId) set.carrier_message_id = update.carrierMessageId;
  if (!msg.carrierId) set.carrier_id = carrier.id;
  if (to === "sent" || to === "delivered") {
    set.status_reason = null;
    if (!msg.sentAt) set.sent_at = at;
  }
  if (to === "delivered") set.delivered_at = at;
  if (to === "failed" || to === "undelivered") {
    set.error_code = update.errorCode ?? null;
    set.error_message = update.errorMessage ?? null;
    set.status_reason = update.errorCode ?? (to === "failed" ? "carrier_failed" : "carrier_undelivered");
  }
  const detail = update.errorCode
    ? `carrier callback: ${update.errorCode} ${update.errorMessage ?? ""}`.trim()
    : "carrier callback";
  const d1 = ctx.env.DB;
  const stmts = transitionStatements(d1, {
    tenantId: ctx.tenantId,
    messageId: msg.id,
    to,
    from,
    set,
    detail,
    at,
  });
  // Its `message.<status>` deliveries in the same batch, payload the row as the transition left it,
  // whenever the message is in that status after it: a resent callback whose first attempt died
  // before the doorbell writes nothing twice (dedupe key) and rings again.
  const hookAt = stmts.length;
  const reported = update.status === "sending" ? null : update.status;
  if (reported)
    stmts.push(
      messageWebhookStatement(d1, `message.${reported}`, [msg.id], at, {
        sql: "(SELECT status FROM messages WHERE id = ?) = ?",
        params: [msg.id, to],
      }),
    );
  const results = await d1.batch(stmts);
  const changed = movedIds(results[0]).size === 1;
  if (reported) await ringWebhooks(ctx.env, writtenDeliveries(results, [hookAt]));
  return { matched: true, changed, phone: msg.to };
}

/**
 * A carrier said the recipient opted out (Twilio 21610, Telnyx 40300, Vonage "number barred"):
 * Herald honours it as a STOP from that phone, so no later message is tried. The opt-out and its
 * `contact.unsubscribed` deliveries are one batch (the webhook written exactly when the opt-out
 * changes something), so a fault after the change cannot lose the webhook; the doorbell is rung
 * after it (a lost ring is left to the lease sweep).
 */
export async function applyCarrierOptOut(
  ctx: ServiceContext,
  phone: string,
  evidence: { provider: string; errorCode?: string; errorMessage?: string },
): Promise<void> {
  const text = `${evidence.provider} error ${evidence.errorCode ?? ""}: ${evidence.errorMessage ?? "recipient opted out"}`;
  const { statements, webhookIndexes } = await carrierOptOutStatements(ctx, { phone, text, at: nowIso() });
  const results = await ctx.env.DB.batch(statements);
  await ringWebhooks(ctx.env, writtenDeliveries(results, webhookIndexes));
}
