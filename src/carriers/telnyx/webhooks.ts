import { fromBase64, utf8 } from "../../lib/crypto";
import { asRecord, asString } from "../http";
import type { CarrierStatusUpdate, InboundSms } from "../types";
import { TELNYX_OPT_OUT_CODES } from "./send";

/** Telnyx signs `${timestamp}|${body}`; older timestamps are replays. */
export const TELNYX_TOLERANCE_SECONDS = 300;

/**
 * Verifies a Telnyx webhook: Ed25519 signature (base64, header `telnyx-signature-ed25519`) over
 * `${telnyx-timestamp}|${raw body}` with the account's public key (base64, from the portal).
 */
export async function verifyTelnyxSignature(
  publicKeyB64: string,
  rawBody: string,
  signatureB64: string | null | undefined,
  timestamp: string | null | undefined,
  nowMs = Date.now(),
): Promise<boolean> {
  if (!publicKeyB64 || !signatureB64 || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TELNYX_TOLERANCE_SECONDS) return false;
  try {
    const key = await crypto.subtle.importKey("raw", fromBase64(publicKeyB64), { name: "Ed25519" }, false, [
      "verify",
    ]);
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      fromBase64(signatureB64),
      utf8(`${timestamp}|${rawBody}`),
    );
  } catch {
    return false;
  }
}

export async function verifyTelnyxRequest(
  carrier: { credentials: Record<string, string> },
  request: Request,
  rawBody: string,
  nowMs = Date.now(),
): Promise<boolean> {
  return verifyTelnyxSignature(
    carrier.credentials.public_key ?? "",
    rawBody,
    request.headers.get("telnyx-signature-ed25519"),
    request.headers.get("telnyx-timestamp"),
    nowMs,
  );
}

/** `data.event_type` and `data.payload` of a Telnyx webhook body. */
export function telnyxEvent(body: unknown): { type: string; payload: Record<string, unknown> } {
  const data = asRecord(asRecord(body).data);
  return { type: asString(data.event_type) ?? "", payload: asRecord(data.payload) };
}

/** Our message id inside the signed payload: the `webhook_url` we gave Telnyx carries it. */
function signedMessageId(payload: Record<string, unknown>): string | undefined {
  const url = asString(payload.webhook_url);
  if (!url) return undefined;
  try {
    return new URL(url).searchParams.get("message_id") ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * `message.sent` / `message.finalized` in Herald's words, from the recipient's `to[].status`:
 * sent → sent, delivered → delivered, delivery_failed → undelivered, sending_failed → failed.
 * Null for other events and for states that tell nothing new (queued, sending, delivery_unconfirmed).
 * The signature covers the body only: our message id is read from the payload's `webhook_url`; the
 * query's `message_id` (`queryMessageId`, unsigned) is only a hint.
 */
export function parseTelnyxStatus(body: unknown, queryMessageId?: string): CarrierStatusUpdate | null {
  const { type, payload } = telnyxEvent(body);
  if (type !== "message.sent" && type !== "message.finalized") return null;
  const to = Array.isArray(payload.to) ? asRecord(payload.to[0]) : {};
  const map: Record<string, CarrierStatusUpdate["status"]> = {
    sent: "sent",
    delivered: "delivered",
    delivery_failed: "undelivered",
    sending_failed: "failed",
  };
  const status = map[asString(to.status) ?? ""];
  if (!status) return null;
  const update: CarrierStatusUpdate = { status };
  const signed = signedMessageId(payload);
  if (signed) update.messageId = signed;
  if (queryMessageId) update.messageIdHint = queryMessageId;
  const id = asString(payload.id);
  if (id) update.carrierMessageId = id;
  const recipient = asString(to.phone_number);
  if (recipient) update.recipient = recipient;
  const errors = Array.isArray(payload.errors) ? payload.errors.map(asRecord) : [];
  const first = errors[0];
  if (first && (status === "failed" || status === "undelivered")) {
    const code = asString(first.code);
    if (code) update.errorCode = code;
    update.errorMessage =
      asString(first.detail) ?? asString(first.title) ?? `Telnyx error ${code ?? ""}`.trim();
    if (errors.some((e) => TELNYX_OPT_OUT_CODES.has(asString(e.code) ?? ""))) update.optedOut = true;
  }
  return update;
}

/** A `message.received` event as an inbound SMS; null for any other event. */
export function parseTelnyxInbound(body: unknown): InboundSms | null {
  const { type, payload } = telnyxEvent(body);
  if (type !== "message.received") return null;
  const from = asString(asRecord(payload.from).phone_number);
  const toList = Array.isArray(payload.to) ? payload.to.map(asRecord) : [];
  const to = asString(toList[0]?.phone_number);
  if (!from || !to) return null;
  const sms: InboundSms = { from, to, body: asString(payload.text) ?? "" };
  const id = asString(payload.id);
  if (id) sms.carrierMessageId = id;
  return sms;
}
