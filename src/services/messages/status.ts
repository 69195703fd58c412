import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";

export const MESSAGE_STATUSES = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "expired",
  "canceled",
  "suppressed",
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const SUPPRESSION_REASONS = [
  "opted_out",
  "no_consent",
  "frequency_cap",
  "duplicate",
  "exited",
  "invalid_number",
  "missing_data",
] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** States a message waits in before a carrier has it: cancel, expiry and STOP act on these. */
export const PENDING_STATUSES = ["scheduled", "queued"] as const satisfies MessageStatus[];

/**
 * From which states each state may be entered. Carrier-reported states only move forward (a late
 * `sent` never overwrites `delivered`); a retry takes `sending` back to `queued`; a callback may
 * still lift `failed / unknown_outcome` to `delivered`.
 */
export const ALLOWED_FROM: Record<MessageStatus, readonly MessageStatus[]> = {
  scheduled: [],
  queued: ["scheduled", "sending"],
  sending: ["queued"],
  sent: ["sending", "queued", "failed"],
  delivered: ["sending", "sent", "queued", "failed"],
  undelivered: ["sending", "sent", "queued"],
  failed: ["scheduled", "queued", "sending", "sent"],
  expired: ["scheduled", "queued"],
  canceled: ["scheduled", "queued"],
  suppressed: ["scheduled", "queued"],
};

export interface Transition {
  tenantId: string;
  messageId: string;
  to: MessageStatus;
  /** Restrict further than ALLOWED_FROM (e.g. lifting only `failed` rows whose reason is unknown_outcome). */
  from?: readonly MessageStatus[];
  /** Extra columns to set (snake_case SQL column → value). */
  set?: Record<string, string | number | null>;
  /** Human-readable detail kept in the message's events. */
  detail?: string | null;
  at?: string;
}

const SAFE_COLUMN = /^[a-z_]+$/;

/**
 * The statements of one status change: a conditional UPDATE and an event row written only when
 * the UPDATE changed the row (`changes()`), so a repeated transition (queue redelivery, duplicate
 * callback) writes nothing. Run them in one `db.batch()` with anything that must stand with them.
 */
export function transitionStatements(d1: D1Database, t: Transition): D1PreparedStatement[] {
  const at = t.at ?? nowIso();
  const from = (t.from ?? ALLOWED_FROM[t.to]).filter((s) => ALLOWED_FROM[t.to].includes(s));
  const set: Record<string, string | number | null> = { status: t.to, updated_at: at, ...t.set };
  const columns = Object.keys(set);
  for (const c of columns) if (!SAFE_COLUMN.test(c)) throw new Error(`bad column ${c}`);
  const update = d1
    .prepare(
      `UPDATE messages SET ${columns.map((c) => `${c} = ?`).join(", ")}
       WHERE id = ? AND tenant_id = ? AND status IN (${from.map(() => "?").join(", ") || "NULL"})`,
    )
    .bind(...columns.map((c) => set[c] ?? null), t.messageId, t.tenantId, ...from);
  const event = d1
    .prepare(
      "INSERT INTO message_events (id, tenant_id, message_id, status, detail, at) SELECT ?, ?, ?, ?, ?, ? WHERE changes() = 1",
    )
    .bind(newId("messageEvent"), t.tenantId, t.messageId, t.to, t.detail ?? null, at);
  return [update, event];
}

/** Applies one transition; true when the row moved (false: already there, or not allowed from its state). */
export async function transition(env: Pick<Env, "DB">, t: Transition): Promise<boolean> {
  const [update] = await env.DB.batch(transitionStatements(env.DB, t));
  return (update?.meta.changes ?? 0) === 1;
}
