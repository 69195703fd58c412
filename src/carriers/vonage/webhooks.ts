import { hmac, sha256Hex, timingSafeEqual, toHex, utf8 } from "../../lib/crypto";
import { asRecord, asString } from "../http";
import type { CarrierStatusUpdate, InboundSms } from "../types";

/** Signed callbacks older (or newer) than this are refused as replays. */
export const VONAGE_TOLERANCE_SECONDS = 300;

/**
 * The fields of a Vonage callback, whichever way the dashboard sends them: JSON body or form body.
 * Values are kept as strings (the SMS API signs their string form).
 */
export function vonageParams(contentType: string | null, rawBody: string): Record<string, string> {
  const out: Record<string, string> = {};
  if ((contentType ?? "").toLowerCase().includes("json")) {
    try {
      for (const [k, v] of Object.entries(asRecord(JSON.parse(rawBody)))) {
        const s = asString(v) ?? (typeof v === "boolean" ? String(v) : undefined);
        if (s !== undefined) out[k] = s;
      }
    } catch {
      return out;
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(rawBody)) out[k] = v;
  return out;
}

const base64UrlToBytes = (s: string): Uint8Array<ArrayBuffer> => {
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

const bytesToBase64Url = (b: Uint8Array): string => {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
};

const decodeJsonPart = (part: string): Record<string, unknown> | null => {
  try {
    return asRecord(JSON.parse(new TextDecoder().decode(base64UrlToBytes(part))));
  } catch {
    return null;
  }
};

/**
 * Verifies a Vonage signed-webhook JWT (`Authorization: Bearer <jwt>`): HS256 with the account's
 * signature secret; `iat` present and within `VONAGE_TOLERANCE_SECONDS` of now (a captured token
 * cannot be replayed later, with or without `exp`), not expired, not valid only later; `api_key`
 * (when present) is ours; and, whenever the callback has a body, `payload_hash` present and equal
 * to the SHA-256 of the raw body (a token without it would vouch for any body).
 */
export async function verifyVonageJwt(
  signatureSecret: string,
  token: string,
  rawBody: string,
  opts: { apiKey?: string; nowMs?: number } = {},
): Promise<boolean> {
  const parts = token.split(".");
  if (parts.length !== 3 || !signatureSecret) return false;
  const [h = "", p = "", s = ""] = parts;
  const header = decodeJsonPart(h);
  const claims = decodeJsonPart(p);
  if (!header || !claims || header.alg !== "HS256") return false;
  const expected = bytesToBase64Url(await hmac("SHA-256", signatureSecret, `${h}.${p}`));
  if (!timingSafeEqual(expected, s)) return false;
  const now = (opts.nowMs ?? Date.now()) / 1000;
  if (typeof claims.iat !== "number" || Math.abs(now - claims.iat) > VONAGE_TOLERANCE_SECONDS) return false;
  if (typeof claims.exp === "number" && claims.exp < now) return false;
  if (typeof claims.nbf === "number" && claims.nbf > now + VONAGE_TOLERANCE_SECONDS) return false;
  if (opts.apiKey && typeof claims.api_key === "string" && claims.api_key !== opts.apiKey) return false;
  if (typeof claims.payload_hash === "string") {
    if (!timingSafeEqual(await sha256Hex(rawBody), claims.payload_hash.toLowerCase())) return false;
  } else if (rawBody.length > 0) {
    return false;
  }
  return true;
}

/**
 * The SMS API's signature input: every parameter but `sig`, sorted by name, as `&name=value`
 * with `&` and `=` inside values replaced by `_`.
 */
export function vonageSignatureBase(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== "sig")
    .sort()
    .map((k) => `&${k}=${(params[k] ?? "").replace(/[&=]/g, "_")}`)
    .join("");
}

/**
 * Every signature the SMS API may have used (the method is a dashboard setting): `md5hash`
 * (MD5 of base + secret) and HMAC-MD5/SHA-1/SHA-256/SHA-512 of the base keyed by the secret, in hex.
 */
async function vonageCandidateSignatures(secret: string, base: string): Promise<string[]> {
  const out: string[] = [];
  const digest = async (alg: string, data: string) => {
    try {
      out.push(toHex(await crypto.subtle.digest(alg, utf8(data))));
    } catch {
      // The runtime lacks this digest: that method cannot be checked here.
    }
  };
  const mac = async (alg: string) => {
    try {
      const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: alg }, false, [
        "sign",
      ]);
      out.push(toHex(await crypto.subtle.sign("HMAC", key, utf8(base))));
    } catch {
      // as above
    }
  };
  await digest("MD5", base + secret);
  await Promise.all(["MD5", "SHA-1", "SHA-256", "SHA-512"].map(mac));
  return out;
}

/** Verifies an SMS API signed callback (`sig`, `timestamp`, `nonce` among the params). */
export async function verifyVonageSmsSignature(
  signatureSecret: string,
  params: Record<string, string>,
  nowMs = Date.now(),
): Promise<boolean> {
  const sig = params.sig;
  const ts = params.timestamp;
  if (!signatureSecret || !sig || !ts || !/^\d{1,12}$/.test(ts)) return false;
  if (Math.abs(nowMs / 1000 - Number(ts)) > VONAGE_TOLERANCE_SECONDS) return false;
  const given = sig.toLowerCase();
  let match = false;
  for (const candidate of await vonageCandidateSignatures(signatureSecret, vonageSignatureBase(params))) {
    // Evaluate every candidate so the time taken does not tell which method matched.
    if (timingSafeEqual(candidate, given)) match = true;
  }
  return match;
}

/**
 * Verifies a Vonage callback with the carrier's `signature_secret`: a signed JWT in
 * `Authorization`, else the SMS API `sig` parameter. Unsigned callbacks are refused.
 */
export async function verifyVonageRequest(
  carrier: { credentials: Record<string, string> },
  request: Request,
  rawBody: string,
  nowMs = Date.now(),
): Promise<boolean> {
  const secret = carrier.credentials.signature_secret ?? "";
  if (!secret) return false;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (bearer) {
    return verifyVonageJwt(secret, bearer, rawBody, { apiKey: carrier.credentials.api_key, nowMs });
  }
  return verifyVonageSmsSignature(secret, vonageParams(request.headers.get("content-type"), rawBody), nowMs);
}

/**
 * A delivery receipt in Herald's words. SMS API DLR (`messageId`, `status`, `err-code`,
 * `client-ref`): delivered → delivered; accepted/buffered → sent; expired/failed → undelivered;
 * rejected → failed. Messages API status (`message_uuid`, `status`, `client_ref`) is read too.
 * Null for `unknown` and anything else that tells nothing new. The signature covers the body's
 * parameters: our id is the signed `client-ref`; the query's `message_id` (unsigned) is only a hint.
 */
export function parseVonageStatus(
  params: Record<string, string>,
  queryMessageId?: string,
): CarrierStatusUpdate | null {
  const map: Record<string, CarrierStatusUpdate["status"]> = {
    delivered: "delivered",
    read: "delivered",
    accepted: "sent",
    buffered: "sent",
    submitted: "sent",
    expired: "undelivered",
    failed: "undelivered",
    undeliverable: "undelivered",
    rejected: "failed",
  };
  const status = map[(params.status ?? "").toLowerCase()];
  if (!status) return null;
  const update: CarrierStatusUpdate = { status };
  const ref = params["client-ref"] ?? params.client_ref;
  if (ref) update.messageId = ref;
  if (queryMessageId) update.messageIdHint = queryMessageId;
  const id = params.messageId ?? params["message-id"] ?? params.message_uuid;
  if (id) update.carrierMessageId = id;
  // SMS API receipts name the recipient `msisdn` (`to` is our sender); the Messages API names it `to`.
  const recipient = params.msisdn ?? (params.message_uuid ? params.to : undefined);
  if (recipient) update.recipient = recipient;
  const err = params["err-code"];
  if ((status === "undelivered" || status === "failed") && err && err !== "0") {
    update.errorCode = err;
    update.errorMessage = `Vonage delivery error ${err}`;
  }
  return update;
}

/** An inbound SMS (SMS API: msisdn, to, text, messageId; Messages API: from, to, text, message_uuid). */
export function parseVonageInbound(params: Record<string, string>): InboundSms | null {
  const rawFrom = params.msisdn ?? params.from;
  const rawTo = params.to;
  if (!rawFrom || !rawTo) return null;
  const plus = (n: string) => (/^\d+$/.test(n) ? `+${n}` : n);
  const sms: InboundSms = { from: plus(rawFrom), to: plus(rawTo), body: params.text ?? "" };
  const id = params.messageId ?? params.message_uuid;
  if (id) sms.carrierMessageId = id;
  return sms;
}
