import { hmac, timingSafeEqual, toBase64 } from "../../lib/crypto";
import type { CarrierStatusUpdate, InboundSms } from "../types";
import { TWILIO_OPT_OUT_CODES } from "./send";

/**
 * Twilio's request signature: base64 HMAC-SHA1, keyed by the auth token, of the full public URL
 * followed by every POST parameter as name + value, sorted by name.
 */
export async function twilioSignature(
  authToken: string,
  url: string,
  params: Iterable<[string, string]>,
): Promise<string> {
  const sorted = [...params].sort(([a, av], [b, bv]) =>
    a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0,
  );
  let data = url;
  for (const [k, v] of sorted) data += k + v;
  return toBase64(await hmac("SHA-1", authToken, data));
}

/** True when `signature` is Twilio's signature of this URL and form body (constant-time compare). */
export async function verifyTwilioSignature(
  authToken: string,
  url: string,
  formBody: string,
  signature: string | null | undefined,
): Promise<boolean> {
  if (!signature || !authToken) return false;
  const expected = await twilioSignature(authToken, url, new URLSearchParams(formBody).entries());
  return timingSafeEqual(expected, signature);
}

/**
 * Verifies a Twilio callback to Herald. `publicUrl` is the URL Twilio was given (the carrier's
 * callback origin + path + query), not the URL the Worker saw behind a proxy.
 */
export async function verifyTwilioRequest(
  carrier: { credentials: Record<string, string> },
  request: Request,
  rawBody: string,
  publicUrl: string,
): Promise<boolean> {
  return verifyTwilioSignature(
    carrier.credentials.auth_token ?? "",
    publicUrl,
    rawBody,
    request.headers.get("x-twilio-signature"),
  );
}

/**
 * A Twilio status callback (form fields MessageSid, MessageStatus, ErrorCode, ErrorMessage) in
 * Herald's words; null for states that tell nothing new (queued, accepted, sending, scheduled).
 */
export function parseTwilioStatus(form: URLSearchParams, messageId?: string): CarrierStatusUpdate | null {
  const raw = (form.get("MessageStatus") ?? form.get("SmsStatus") ?? "").toLowerCase();
  const map: Record<string, CarrierStatusUpdate["status"]> = {
    sent: "sent",
    delivered: "delivered",
    read: "delivered",
    undelivered: "undelivered",
    failed: "failed",
    canceled: "failed",
  };
  const status = map[raw];
  if (!status) return null;
  const errorCode = form.get("ErrorCode") || undefined;
  const update: CarrierStatusUpdate = { status };
  if (messageId) update.messageId = messageId;
  const sid = form.get("MessageSid") ?? form.get("SmsSid");
  if (sid) update.carrierMessageId = sid;
  if (errorCode && errorCode !== "0") {
    update.errorCode = errorCode;
    update.errorMessage = form.get("ErrorMessage") || `Twilio error ${errorCode}`;
    if (TWILIO_OPT_OUT_CODES.has(errorCode)) update.optedOut = true;
  }
  return update;
}

/** An inbound Twilio SMS (From, To, Body, MessageSid, OptOutType). */
export function parseTwilioInbound(form: URLSearchParams): InboundSms | null {
  const from = form.get("From");
  const to = form.get("To");
  if (!from || !to) return null;
  const sms: InboundSms = { from, to, body: form.get("Body") ?? "" };
  const sid = form.get("MessageSid") ?? form.get("SmsSid");
  if (sid) sms.carrierMessageId = sid;
  // Advanced Opt-Out answered the keyword already: Herald records it without a second reply.
  if (form.get("OptOutType")) sms.carrierHandledOptOut = true;
  return sms;
}
