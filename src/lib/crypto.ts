/** Small wrappers over WebCrypto used across Herald. */

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const encoder = new TextEncoder();

/** `n` random base62 characters, each drawn without modulo bias (rejection sampling). */
export function randomBase62(n: number): string {
  let out = "";
  while (out.length < n) {
    const bytes = crypto.getRandomValues(new Uint8Array(n * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

export const toHex = (buf: ArrayBuffer | Uint8Array): string =>
  [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

export function toBase64(buf: ArrayBuffer | Uint8Array): string {
  let s = "";
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export const utf8 = (s: string): Uint8Array<ArrayBuffer> => encoder.encode(s) as Uint8Array<ArrayBuffer>;

export async function sha256Hex(input: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", utf8(input)));
}

type HmacHash = "SHA-1" | "SHA-256";

export async function hmac(
  hash: HmacHash,
  key: Uint8Array<ArrayBuffer> | string,
  data: Uint8Array<ArrayBuffer> | string,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey(
    "raw",
    typeof key === "string" ? utf8(key) : key,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, typeof data === "string" ? utf8(data) : data));
}

/** Constant-time comparison of two strings (length leaks, content does not). */
export function timingSafeEqual(a: string, b: string): boolean {
  const ab = utf8(a);
  const bb = utf8(b);
  let diff = ab.length ^ bb.length;
  const len = Math.max(ab.length, bb.length);
  for (let i = 0; i < len; i++) diff |= (ab[i] ?? 0) ^ (bb[i] ?? 0);
  return diff === 0;
}

async function aesKey(encryptionKeyB64: string): Promise<CryptoKey> {
  const raw = fromBase64(encryptionKeyB64);
  if (raw.length !== 32) throw new Error("ENCRYPTION_KEY must be base64 of 32 bytes");
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** AES-256-GCM; output is `v1.<iv b64>.<ciphertext b64>`. */
export async function encryptSecret(encryptionKeyB64: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await aesKey(encryptionKeyB64),
    utf8(plaintext),
  );
  return `v1.${toBase64(iv)}.${toBase64(ct)}`;
}

export async function decryptSecret(encryptionKeyB64: string, sealed: string): Promise<string> {
  const [version, ivB64, ctB64] = sealed.split(".");
  if (version !== "v1" || !ivB64 || !ctB64) throw new Error("unrecognised sealed secret");
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(ivB64) },
    await aesKey(encryptionKeyB64),
    fromBase64(ctB64),
  );
  return new TextDecoder().decode(pt);
}

/**
 * Keyed hash of a phone number for suppressions that outlive the contact. Phone numbers are
 * enumerable, so a bare SHA-256 would be reversible; the key is derived from ENCRYPTION_KEY.
 */
export async function phoneHash(encryptionKeyB64: string, tenantId: string, e164: string): Promise<string> {
  return toHex(await hmac("SHA-256", fromBase64(encryptionKeyB64), `phone:${tenantId}:${e164}`));
}
