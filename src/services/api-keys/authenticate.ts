import { and, eq, isNull } from "drizzle-orm";
import { createDb } from "../../db/client";
import { apiKeys } from "../../db/schema";
import type { AuthContext, Env } from "../../env";
import { sha256Hex } from "../../lib/crypto";
import { nowIso } from "../../lib/time";
import { KEY_PREFIX } from "./keys";

/** `last_used_at` is refreshed at most once a minute per key: one write per request would cost D1's single writer. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function authenticateApiKey(
  env: Env,
  token: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<AuthContext | undefined> {
  if (!token.startsWith(KEY_PREFIX) || token.length > 128) return undefined;
  const db = createDb(env.DB);
  const hash = await sha256Hex(token);
  const row = await db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)),
  });
  if (!row) return undefined;
  const now = Date.now();
  if (!row.lastUsedAt || now - Date.parse(row.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
    waitUntil(db.update(apiKeys).set({ lastUsedAt: nowIso() }).where(eq(apiKeys.id, row.id)).run());
  }
  return { tenantId: row.tenantId, keyId: row.id, scopes: row.scopes };
}
