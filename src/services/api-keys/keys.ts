import { randomBase62, sha256Hex } from "../../lib/crypto";

export const KEY_PREFIX = "hk_live_";

export const RESOURCES = [
  "contacts",
  "segments",
  "programs",
  "messages",
  "events",
  "carriers",
  "integrations",
  "webhooks",
  "keys",
] as const;
export const SCOPES = ["*", ...RESOURCES.flatMap((r) => [`${r}:read`, `${r}:write`])] as const;
export type Scope = (typeof SCOPES)[number];

/** A new secret key: `hk_live_` + 43 base62 characters (> 256 bits of entropy). */
export function generateApiKey(): { key: string; prefix: string; hashPromise: Promise<string> } {
  const key = KEY_PREFIX + randomBase62(43);
  return { key, prefix: key.slice(0, KEY_PREFIX.length + 6), hashPromise: sha256Hex(key) };
}
