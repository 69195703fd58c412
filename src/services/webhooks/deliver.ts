import { IN_JSON_LIST } from "../../db/json-list";
import { claimedLease } from "../../domain/rules/lease";
import { signStandard } from "../../domain/signatures";
import { checkOutboundUrl } from "../../domain/url-guard";
import { type Env, isProduction } from "../../env";
import { decryptSecret } from "../../lib/crypto";
import { iso } from "../../lib/time";

/** Deliveries are retried for this long after the event, then marked failed. */
export const DELIVERY_WINDOW_MS = 24 * 3_600_000;
/** This many failed attempts in a row (across deliveries) disable an endpoint. */
export const DISABLE_AFTER_CONSECUTIVE_FAILURES = 20;
/** Delay before attempt n+1 (seconds), Standard Webhooks' usual schedule; the last repeats. */
export const RETRY_SCHEDULE_SECONDS = [5, 60, 300, 1800, 7200, 18000, 36000];
const REQUEST_TIMEOUT_MS = 10_000;
/** Queue delays are not exact: a job this early still counts as due. */
const EARLY_TOLERANCE_MS = 5_000;

export const retryDelayFor = (attempts: number): number =>
  RETRY_SCHEDULE_SECONDS[Math.min(attempts - 1, RETRY_SCHEDULE_SECONDS.length - 1)] ?? 36000;

interface Claimed {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  payload: string;
  attempts: number;
  created_at: string;
  url: string;
  secret_sealed: string;
  endpoint_status: string;
  endpoint_deleted_at: string | null;
}

export type DeliveryOutcome =
  | { outcome: "delivered" | "failed" | "skipped" }
  | { outcome: "retry"; delaySeconds: number };

/**
 * One attempt of one delivery: claims the row (so a redelivered job cannot double-send), POSTs
 * the Standard-Webhooks-signed payload, logs the attempt, and says when to try again.
 */
export async function attemptWebhookDelivery(
  env: Env,
  deliveryId: string,
  nowMs: number = Date.now(),
): Promise<DeliveryOutcome> {
  const claimed = await env.DB.prepare(
    `UPDATE webhook_deliveries SET next_attempt_at = ?, updated_at = ?
     WHERE id = ? AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
     RETURNING id`,
  )
    .bind(claimedLease(nowMs), iso(nowMs), deliveryId, iso(nowMs + EARLY_TOLERANCE_MS))
    .first<{ id: string }>();
  if (!claimed) return { outcome: "skipped" };
  const row = await env.DB.prepare(
    `SELECT d.id, d.tenant_id, d.endpoint_id, d.payload, d.attempts, d.created_at,
            e.url, e.secret_sealed, e.status AS endpoint_status, e.deleted_at AS endpoint_deleted_at
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.id = ?`,
  )
    .bind(deliveryId)
    .first<Claimed>();
  if (!row) return { outcome: "skipped" };

  if (row.endpoint_deleted_at || row.endpoint_status !== "enabled") {
    await finish(
      env,
      row,
      nowMs,
      "failed",
      null,
      row.endpoint_deleted_at ? "endpoint deleted" : "endpoint disabled",
    );
    return { outcome: "failed" };
  }

  const attempts = row.attempts + 1;
  let statusCode: number | null = null;
  let error: string | null = null;
  const refused = checkOutboundUrl(row.url, { production: isProduction(env) });
  if (refused) {
    error = `url ${refused}`;
  } else {
    try {
      const secret = await decryptSecret(env.ENCRYPTION_KEY, row.secret_sealed);
      const timestamp = Math.floor(nowMs / 1000);
      // The delivery id is the Standard Webhooks message id: the same on every retry, so receivers can dedupe.
      const msgId = row.id;
      const res = await fetch(row.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: {
          "content-type": "application/json",
          "user-agent": "Herald-Webhooks/1",
          "webhook-id": msgId,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signStandard(secret, msgId, timestamp, row.payload),
        },
        body: row.payload,
      });
      statusCode = res.status;
      await res.body?.cancel();
      // redirect: "manual": a 3xx is a failed attempt, never followed (it could point anywhere).
      if (res.status < 200 || res.status >= 300)
        error =
          res.status < 400 && res.status >= 300
            ? `HTTP ${res.status} (redirects are not followed)`
            : `HTTP ${res.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 500) : "network error";
    }
  }

  if (!error) {
    await env.DB.batch([
      env.DB.prepare(
        `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status_code = ?, last_error = NULL,
           next_attempt_at = NULL, delivered_at = ?, updated_at = ? WHERE id = ?`,
      ).bind(attempts, statusCode, iso(nowMs), iso(nowMs), row.id),
      env.DB.prepare(
        "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures <> 0",
      ).bind(row.endpoint_id),
    ]);
    return { outcome: "delivered" };
  }

  const delaySeconds = retryDelayFor(attempts);
  const pastWindow = nowMs + delaySeconds * 1000 > Date.parse(row.created_at) + DELIVERY_WINDOW_MS;
  const [, endpoint] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE webhook_deliveries SET attempts = ?, last_status_code = ?, last_error = ?, updated_at = ?,
         status = CASE WHEN ? THEN 'failed' ELSE 'pending' END,
         failed_at = CASE WHEN ? THEN ? ELSE NULL END,
         next_attempt_at = CASE WHEN ? THEN NULL ELSE ? END
       WHERE id = ?`,
    ).bind(
      attempts,
      statusCode,
      error,
      iso(nowMs),
      pastWindow ? 1 : 0,
      pastWindow ? 1 : 0,
      iso(nowMs),
      pastWindow ? 1 : 0,
      iso(nowMs + delaySeconds * 1000),
      row.id,
    ),
    env.DB.prepare(
      `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
         status = CASE WHEN ? OR consecutive_failures + 1 >= ? THEN 'disabled' ELSE status END,
         disabled_reason = CASE WHEN status = 'disabled' THEN disabled_reason
           WHEN ? THEN ? WHEN consecutive_failures + 1 >= ? THEN ? ELSE NULL END,
         updated_at = ?
       WHERE id = ? RETURNING status`,
    ).bind(
      pastWindow ? 1 : 0,
      DISABLE_AFTER_CONSECUTIVE_FAILURES,
      pastWindow ? 1 : 0,
      `A delivery kept failing for 24 hours (last: ${error})`,
      DISABLE_AFTER_CONSECUTIVE_FAILURES,
      `${DISABLE_AFTER_CONSECUTIVE_FAILURES} consecutive delivery attempts failed (last: ${error})`,
      iso(nowMs),
      row.endpoint_id,
    ),
  ]);
  if (pastWindow) return { outcome: "failed" };
  const stillEnabled = (endpoint?.results?.[0] as { status?: string } | undefined)?.status === "enabled";
  if (!stillEnabled) {
    await finish(env, row, nowMs, "failed", statusCode, "endpoint disabled");
    return { outcome: "failed" };
  }
  return { outcome: "retry", delaySeconds };
}

async function finish(
  env: Env,
  row: Pick<Claimed, "id" | "attempts">,
  nowMs: number,
  status: "failed",
  statusCode: number | null,
  error: string,
): Promise<void> {
  await env.DB.prepare(
    `UPDATE webhook_deliveries SET status = ?, failed_at = ?, next_attempt_at = NULL, updated_at = ?,
       last_error = COALESCE(last_error, ?), last_status_code = COALESCE(?, last_status_code)
     WHERE id = ? AND status = 'pending'`,
  )
    .bind(status, iso(nowMs), iso(nowMs), error, statusCode, row.id)
    .run();
}

/** Deliveries whose work queue job was dead-lettered: `failed`, no further attempt (for the caller's batch). */
export function deadWebhookDeliveriesStatement(
  env: Env,
  deliveryIds: string[],
  now: string,
): D1PreparedStatement {
  return env.DB.prepare(
    `UPDATE webhook_deliveries SET status = 'failed', failed_at = ?, next_attempt_at = NULL, updated_at = ?
     WHERE id IN ${IN_JSON_LIST} AND status = 'pending'`,
  ).bind(now, now, JSON.stringify(deliveryIds));
}
