import type { InboundSms } from "../../carriers/types";
import { classifyKeyword } from "../../domain/keywords";
import { normalizePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { resubscribePhone, unsubscribePhone } from "../contacts/consent";
import type { ServiceContext } from "../context";
import { cancelPendingMessages, createMessages } from "../messages/create";
import { defaultHelpText, defaultStopText, getTenant, type TenantRow } from "../tenants/tenants";
import { emitWebhookEvent } from "../webhooks/emit";

/** The START confirmation: brand, what happens now, how to stop again. */
export const startText = (t: Pick<TenantRow, "brandName">): string =>
  `${t.brandName}: You're resubscribed and will get our texts again. Reply HELP for help, STOP to opt out.`;

/**
 * An inbound SMS from a verified carrier callback: keywords (STOP/START/HELP families) change consent
 * and answer once; other texts are stored and sent to webhooks as `message.received`. Returns the
 * reply text when the caller should answer inline (TwiML, Twilio only), else null — other
 * providers' replies are sent here as keyword-reply messages. A carrier retry of the same inbound
 * message (same carrier message id) has no second effect.
 */
export async function handleInboundSms(
  ctx: ServiceContext,
  carrier: { id: string; provider: string },
  sms: InboundSms,
): Promise<{ reply: string | null }> {
  const tenant = await getTenant(ctx);
  const normalized = normalizePhone(sms.from, tenant.defaultCountry);
  const phone = normalized.ok ? normalized.e164 : sms.from.trim();
  const keyword = classifyKeyword(sms.body);
  const receivedAt = nowIso();
  const inboundId = newId("inbound");

  const stored = await ctx.env.DB.prepare(
    `INSERT INTO inbound_messages (id, tenant_id, contact_id, carrier_id, "from", "to", body, keyword, carrier_message_id, received_at, created_at)
     VALUES (?, ?, (SELECT id FROM contacts WHERE tenant_id = ? AND phone = ?), ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, carrier_message_id) DO NOTHING
     RETURNING contact_id`,
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
      keyword,
      sms.carrierMessageId ?? null,
      receivedAt,
      receivedAt,
    )
    .first<{ contact_id: string | null }>();
  if (!stored) return { reply: null };
  const contactId = stored.contact_id;

  if (!keyword) {
    await emitWebhookEvent(ctx.env, ctx.tenantId, "message.received", {
      id: inboundId,
      from: phone,
      to: sms.to,
      body: sms.body,
      contact_id: contactId,
      carrier_id: carrier.id,
      carrier_message_id: sms.carrierMessageId ?? null,
      received_at: receivedAt,
    });
    return { reply: null };
  }

  // Twilio's Advanced Opt-Out answered already: record the change, send no second reply.
  const source = sms.carrierHandledOptOut ? "carrier" : "sms";
  const consentInput = { source, text: sms.body, at: receivedAt };
  let reply: string;
  if (keyword === "stop") {
    const result = await unsubscribePhone(ctx, phone, consentInput);
    await cancelPendingMessages(ctx, { phone }, { reason: "opted_out", detail: "STOP received" });
    if (result.changed)
      await emitConsentWebhook(ctx, "contact.unsubscribed", phone, result.contactId, sms, receivedAt);
    reply = tenant.stopText ?? defaultStopText(tenant);
  } else if (keyword === "start") {
    const result = await resubscribePhone(ctx, phone, consentInput);
    if (result.changed)
      await emitConsentWebhook(ctx, "contact.subscribed", phone, result.contactId, sms, receivedAt);
    reply = startText(tenant);
  } else {
    reply = tenant.helpText ?? defaultHelpText(tenant);
  }
  if (sms.carrierHandledOptOut) return { reply: null };
  // Twilio answers inline (TwiML), from the number the person texted; the reply is still an outbox
  // row (already `sent`) so the contact's timeline and the message list show it.
  const inline = carrier.provider === "twilio" ? { from: sms.to } : undefined;
  await sendKeywordReply(ctx, carrier, phone, contactId, reply, inboundId, inline);
  return { reply: inline ? reply : null };
}

async function emitConsentWebhook(
  ctx: ServiceContext,
  type: "contact.unsubscribed" | "contact.subscribed",
  phone: string,
  contactId: string | null,
  sms: InboundSms,
  at: string,
): Promise<void> {
  await emitWebhookEvent(ctx.env, ctx.tenantId, type, {
    contact_id: contactId,
    phone,
    source: sms.carrierHandledOptOut ? "carrier" : "sms",
    text: sms.body,
    at,
  });
}

async function sendKeywordReply(
  ctx: ServiceContext,
  carrier: { id: string },
  phone: string,
  contactId: string | null,
  body: string,
  inboundId: string,
  answeredInline?: { from: string },
): Promise<void> {
  await createMessages(ctx, [
    {
      to: phone,
      contactId,
      body,
      category: "transactional",
      quietHours: "ignore",
      validityHours: 1,
      // Answer from the carrier the person wrote to, so the reply comes from the number they texted.
      carrierId: carrier.id,
      keywordReply: true,
      // One reply per inbound message, whatever retries happen.
      occurrenceKey: `reply:${inboundId}`,
      answeredInline,
    },
  ]);
}
