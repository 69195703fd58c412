/**
 * The `Idempotency-Key` store (PRODUCT.md, "idempotency"): a key is claimed by the first request
 * (`INSERT … ON CONFLICT DO NOTHING`, locked 60 s), its final answer stored sealed and replayed for
 * 24 h, released when the answer is not final (400/422/5xx), forgotten after 24 h. The HTTP side —
 * fingerprints, statuses, replay — is middleware/idempotency.ts.
 */
import { iso } from "../../lib/time";

/** How long a key remembers its response (PRODUCT.md: 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** An in-flight claim older than this may be taken over (the first request died). */
const LOCK_MS = 60_000;

export interface KeyRow {
  fingerprint: string;
  state: string;
  locked_until: string | null;
  response_status: number | null;
  response_body: string | null;
  response_content_type: string | null;
  created_at: string;
}

export type Claim =
  | { kind: "claimed"; lock: string }
  | { kind: "replay"; row: KeyRow }
  | { kind: "mismatch" }
  | { kind: "in_flight" };

export async function claimIdempotencyKey(
  db: D1Database,
  tenantId: string,
  key: string,
  fingerprint: string,
): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const nowMs = Date.now();
    const now = iso(nowMs);
    const lock = iso(nowMs + LOCK_MS);
    const inserted = await db
      .prepare(
        `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, locked_until, created_at)
         VALUES (?, ?, ?, 'in_flight', ?, ?) ON CONFLICT (tenant_id, key) DO NOTHING`,
      )
      .bind(tenantId, key, fingerprint, lock, now)
      .run();
    if (inserted.meta.changes === 1) return { kind: "claimed", lock };
    const row = await db
      .prepare(
        `SELECT fingerprint, state, locked_until, response_status, response_body, response_content_type, created_at
         FROM idempotency_keys WHERE tenant_id = ? AND key = ?`,
      )
      .bind(tenantId, key)
      .first<KeyRow>();
    if (!row) continue;
    if (row.created_at < iso(nowMs - IDEMPOTENCY_TTL_MS)) {
      // Older than 24 h: forgotten; the key starts afresh.
      await db
        .prepare("DELETE FROM idempotency_keys WHERE tenant_id = ? AND key = ? AND created_at = ?")
        .bind(tenantId, key, row.created_at)
        .run();
      continue;
    }
    if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
    if (row.state === "done") return { kind: "replay", row };
    if (row.locked_until && row.locked_until > now) return { kind: "in_flight" };
    // The first request's lock ran out (it died mid-way): take the claim over, once.
    const taken = await db
      .prepare(
        `UPDATE idempotency_keys SET locked_until = ?
         WHERE tenant_id = ? AND key = ? AND state = 'in_flight' AND locked_until IS ?`,
      )
      .bind(lock, tenantId, key, row.locked_until)
      .run();
    return taken.meta.changes === 1 ? { kind: "claimed", lock } : { kind: "in_flight" };
  }
  return { kind: "in_flight" };
}

/** Lets the key go: the answer was not final (400/422/5xx) or the handler threw. */
export async function releaseIdempotencyKey(
  db: D1Database,
  tenantId: string,
  key: string,
  lock: string,
): Promise<void> {
  await db
    .prepare(
      "DELETE FROM idempotency_keys WHERE tenant_id = ? AND key = ? AND state = 'in_flight' AND locked_until = ?",
    )
    .bind(tenantId, key, lock)
    .run();
}

/** Stores the final answer of the request holding `lock` (its body already sealed). */
export async function storeIdempotentAnswer(
  db: D1Database,
  tenantId: string,
  key: string,
  lock: string,
  answer: { status: number; sealedBody: string; contentType: string | null },
): Promise<void> {
  await db
    .prepare(
      `UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ?, response_content_type = ?,
         locked_until = NULL
       WHERE tenant_id = ? AND key = ? AND state = 'in_flight' AND locked_until = ?`,
    )
    .bind(answer.status, answer.sealedBody, answer.contentType, tenantId, key, lock)
    .run();
}

/**
 * Forgets keys older than 24 h, at most `limit` per call so a tick stays short (the scheduler calls
 * it every minute; reads already ignore expired keys).
 */
export async function purgeIdempotencyKeys(
  db: D1Database,
  nowMs: number = Date.now(),
  limit = 1000,
): Promise<number> {
  const res = await db
    .prepare(
      `DELETE FROM idempotency_keys WHERE rowid IN
         (SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
    )
    .bind(iso(nowMs - IDEMPOTENCY_TTL_MS), limit)
    .run();
  return res.meta.changes;
}
