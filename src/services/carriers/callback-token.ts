import type { Provider } from "../../carriers/types";
import { fromBase64, hmac, toBase64 } from "../../lib/crypto";

/** Providers whose callbacks can be verified by a secret token in the callback URL. */
const TOKEN_PROVIDERS: ReadonlySet<Provider> = new Set(["sinch"]);

/**
 * The secret token in a carrier's callback URLs (`?token=`): an HMAC of the carrier id keyed by
 * ENCRYPTION_KEY (nothing to store; rotating the key changes it, and the URLs must be pasted
 * again). 32 base64url characters (192 bits). Used by Sinch carriers without a callback secret,
 * whose callbacks are otherwise unsigned.
 */
export async function callbackToken(encryptionKeyB64: string, carrierId: string): Promise<string> {
  const mac = await hmac("SHA-256", fromBase64(encryptionKeyB64), `callback-token:${carrierId}`);
  return toBase64(mac).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "").slice(0, 32);
}

/** The carrier's callback token, or undefined for providers whose callbacks are signed otherwise. */
export async function callbackTokenFor(
  env: { ENCRYPTION_KEY: string },
  carrier: { id: string; provider: Provider },
): Promise<string | undefined> {
  return TOKEN_PROVIDERS.has(carrier.provider) ? callbackToken(env.ENCRYPTION_KEY, carrier.id) : undefined;
}
