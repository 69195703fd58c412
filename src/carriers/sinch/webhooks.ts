import { timingSafeEqual, toBase64, utf8 } from "../../lib/crypto";
import { asRecord, asString } from "../http";
import type { CarrierConfig, CarrierStatusUpdate, InboundSms } from "../types";
import { sinchCarrierMessageId } from "./send";

/**
 * Sinch retries a callback for up to ~22 h 45 min (5 s, 10 s, 20 s … doubling), so a signature's
 * timestamp may be that old; older is refused as a replay, and so is one from the future.
 */
export const SINCH_SIGNATURE_MAX_AGE_SECONDS = 24 * 3600;
export const SINCH_SIGNATURE_FUTURE_SKEW_SECONDS = 300;

/** `x-sinch-webhook-signature-algorithm` → WebCrypto hash (HmacSHA256 when the header is absent). */
const ALGORITHMS: Record<string, string> = {
  hmacsha256: "SHA-256",
  hmacsha384: "SHA-384",
  hmacsha512: "SHA-512",
};

/** Sinch's callback signature: base64 HMAC (keyed by the callback secret) of `${body}.${nonce}.${timestamp}`. */
export async function sinchSignature(
  secret: string,
  rawBody: string,
  nonce: string,
  timestamp: string,
  hash = "SHA-256",
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash }, false, ["sign"]);
  return toBase64(await crypto.subtle.sign("HMAC", key, utf8(`${rawBody}.${nonce}.${timestamp}`)));
}

export interface SinchSignatureHeaders {
  signature: string | null;
  nonce: string | null;
  timestamp: string | null;
  algorithm: string | null;
}

export const sinchSignatureHeaders = (h: Headers): SinchSignatureHeaders => ({
  signature: h.get("x-sinch-webhook-signature"),
  nonce: h.get("x-sinch-webhook-signature-nonce"),
  timestamp: h.get("x-sinch-webhook-signature-timestamp"),
  algorithm: h.get("x-sinch-webhook-signature-algorithm"),
});

/** True when the headers carry Sinch's signature of exactly this body, fresh enough (constant-time compare). */
export async function verifySinchSignature(
  secret: string,
  rawBody: string,
  h: SinchSignatureHeaders,
  nowMs = Date.now(),
): Promise<boolean> {
  if (!secret || !h.signature || !h.nonce || !h.timestamp || !/^\d{1,12}$/.test(h.timestamp)) return false;
  const hash = ALGORITHMS[(h.algorithm ?? "HmacSHA256").toLowerCase()];
  if (!hash) return false;
  const age = nowMs / 1000 - Number(h.timestamp);
  if (age > SINCH_SIGNATURE_MAX_AGE_SECONDS || age < -SINCH_SIGNATURE_FUTURE_SKEW_SECONDS) return false;
  const expected = await sinchSignature(secret, rawBody, h.nonce, h.timestamp, hash);
  return timingSafeEqual(expected, h.signature.trim());
}

/**
 * Verifies a Sinch callback before anything is parsed. With a `callback_secret` (HMAC signing,
 * which Sinch enables per account), the signature headers are required; without one, the URL's
 * `token` must be this carrier's callback token (derived from ENCRYPTION_KEY, compared in
 * constant time). Anything else is refused.
 */
export async function verifySinchRequest(
  carrier: Pick<CarrierConfig, "credentials" | "callbackToken">,
  request: Request,
  rawBody: string,
  queryToken: string | undefined,
  nowMs = Date.now(),
): Promise<boolean> {
  const secret = carrier.credentials.callback_secret ?? "";
  if (secret) return verifySinchSignature(secret, rawBody, sinchSignatureHeaders(request.headers), nowMs);
  const token = carrier.callbackToken ?? "";
  if (!token || !queryToken) return false;
  return timingSafeEqual(token, queryToken);
}

/**
 * Delivery report status codes of the SMS REST API that are Sinch's own (the others are SMPP or
 * operator codes), as Sinch describes them.
 */
export const SINCH_DELIVERY_CODES: Record<string, string> = {
  "0": "Delivered",
  "400": "Queued",
  "401": "Dispatched",
  "402": "Message unroutable",
  "403": "Internal error",
  "404": "Temporary delivery failure",
  "405": "Unmatched parameter",
  "406": "Internal expiry",
  "407": "Cancelled",
  "408": "Internal reject",
  "410": "Unmatched default originator",
  "411": "Exceeded parts limit",
  "412": "Unprovisioned region",
  "413": "Blocked",
};

/**
 * Sinch's simplified delivery statuses in Herald's words: Dispatched → sent; Delivered →
 * delivered; Aborted, Rejected, Cancelled (never reached or refused by the SMSC) → failed;
 * Failed, Expired, Deleted (the network could not deliver) → undelivered. Queued and Unknown tell
 * nothing new. Sinch reports no distinct opt-out code (Deleted may mean an invalid or opted-out
 * subscriber), so a report never unsubscribes a phone by itself.
 */
const STATUS: Record<string, CarrierStatusUpdate["status"]> = {
  dispatched: "sent",
  delivered: "delivered",
  aborted: "failed",
  rejected: "failed",
  cancelled: "failed",
  failed: "undelivered",
  expired: "undelivered",
  deleted: "undelivered",
};

const plus = (n: string): string => (/^\d+$/.test(n) ? `+${n}` : n);

export type SinchEvent =
  | { kind: "status"; update: CarrierStatusUpdate }
  | { kind: "inbound"; sms: InboundSms }
  | { kind: "ignored" };

/**
 * A verified callback body: a per-recipient delivery report (`recipient_delivery_report_sms`:
 * `batch_id`, `recipient`, `status`, `code`, `client_reference`) or an inbound text (`mo_text`:
 * `id`, `from`, `to`, `body`). The report names our message by `${batch_id}:${recipient}`, the
 * carrier message id the send stored; the `client_reference` of a one-message batch is our message
 * id, used only as a hint (the message must be this carrier's, to this recipient, and have no
 * carrier message id yet: its create response was lost).
 */
export function parseSinchEvent(body: unknown): SinchEvent {
  const r = asRecord(body);
  const type = asString(r.type) ?? "";
  if (type === "mo_text") {
    const from = asString(r.from);
    const to = asString(r.to);
    if (!from || !to) return { kind: "ignored" };
    const sms: InboundSms = { from: plus(from), to: plus(to), body: asString(r.body) ?? "" };
    const id = asString(r.id);
    if (id) sms.carrierMessageId = id;
    return { kind: "inbound", sms };
  }
  if (type !== "recipient_delivery_report_sms") return { kind: "ignored" };
  const status = STATUS[(asString(r.status) ?? "").toLowerCase()];
  const batchId = asString(r.batch_id);
  const recipient = asString(r.recipient);
  if (!status || !batchId || !recipient) return { kind: "ignored" };
  const update: CarrierStatusUpdate = {
    status,
    carrierMessageId: sinchCarrierMessageId(batchId, recipient),
    recipient: plus(recipient.replace(/^\+/, "")),
  };
  const ref = asString(r.client_reference);
  if (ref && /^msg_[A-Za-z0-9]+$/.test(ref)) update.messageIdHint = ref;
  const code = asString(r.code);
  if ((status === "failed" || status === "undelivered") && code !== undefined) {
    update.errorCode = code;
    update.errorMessage = `Sinch ${asString(r.status)}: ${SINCH_DELIVERY_CODES[code] ?? `code ${code}`}`;
  }
  return { kind: "status", update };
}
