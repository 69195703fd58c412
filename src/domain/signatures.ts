/**
 * Webhook signatures, both ways: Shopify's `X-Shopify-Hmac-Sha256` and Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Pure WebCrypto; no bindings.
 */
import { fromBase64, hmac, randomBase62, timingSafeEqual, toBase64, utf8 } from "../lib/crypto";

/** Standard Webhooks timestamp tolerance, both ways (seconds). */
export const STANDARD_TOLERANCE_SECONDS = 5 * 60;

const bytesOf = (body: Uint8Array<ArrayBuffer> | string): Uint8Array<ArrayBuffer> =>
  typeof body === "string" ? utf8(body) : body;

/**
 * Shopify's signature of a raw body: base64 HMAC-SHA256 keyed with the app's secret.
 *
 * @example await signShopify("shpss_x", '{"id":1}') // "…base64…"
 */
export async function signShopify(secret: string, body: Uint8Array<ArrayBuffer> | string): Promise<string> {
  return toBase64(await hmac("SHA-256", secret, bytesOf(body)));
}

/** True when `header` is Shopify's signature of exactly these bytes (constant-time compare). */
export async function verifyShopify(
  secret: string,
  body: Uint8Array<ArrayBuffer>,
  header: string | null | undefined,
): Promise<boolean> {
  if (!header) return false;
  const expected = await signShopify(secret, body);
  return timingSafeEqual(expected, header.trim());
}

/** A new Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export function generateStandardSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** The key bytes of a `whsec_…` secret (base64 after the prefix). */
export function standardSecretKey(secret: string): Uint8Array<ArrayBuffer> {
  return fromBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

/**
 * The `webhook-signature` value for one message: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 *
 * @example await signStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", 1700000000, "{}")
 */
export async function signStandard(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: Uint8Array<ArrayBuffer> | string,
): Promise<string> {
  const prefix = utf8(`${id}.${timestampSeconds}.`);
  const payload = bytesOf(body);
  const data = new Uint8Array(prefix.length + payload.length);
  data.set(prefix, 0);
  data.set(payload, prefix.length);
  return `v1,${toBase64(await hmac("SHA-256", standardSecretKey(secret), data))}`;
}

export type StandardVerifyResult =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: "missing_headers" | "bad_timestamp" | "stale" | "bad_signature" };

/**
 * Verifies a Standard Webhooks delivery on its raw bytes: all three headers present, the timestamp
 * within five minutes of `nowMs` either way, and one of the space-separated `v1,` signatures
 * matching (compared in constant time).
 */
export async function verifyStandard(
  secret: string,
  body: Uint8Array<ArrayBuffer>,
  headers: { id?: string | null; timestamp?: string | null; signature?: string | null },
  nowMs: number = Date.now(),
): Promise<StandardVerifyResult> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad_timestamp" };
  const ts = Number(timestamp);
  if (Math.abs(nowMs / 1000 - ts) > STANDARD_TOLERANCE_SECONDS) return { ok: false, reason: "stale" };
  let key: Uint8Array<ArrayBuffer>;
  try {
    key = standardSecretKey(secret);
  } catch {
    return { ok: false, reason: "bad_signature" };
  }
  const prefix = utf8(`${id}.${ts}.`);
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix, 0);
  data.set(body, prefix.length);
  const expected = toBase64(await hmac("SHA-256", key, data));
  let match = false;
  for (const part of signature.split(" ")) {
    const [version, sig] = part.split(",", 2);
    // Evaluate every candidate so the time taken does not say which one matched.
    if (version === "v1" && sig !== undefined && timingSafeEqual(expected, sig)) match = true;
  }
  return match ? { ok: true, id, timestamp: ts } : { ok: false, reason: "bad_signature" };
}

/** A fresh Standard Webhooks message id for outbound deliveries. */
export const newStandardMessageId = (): string => `msg_${randomBase62(24)}`;
