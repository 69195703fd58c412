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
 * `sent` never overwrites `delivered`); a retry takes `sending` back to `queued`, quiet hours take
 * `queued` back to `scheduled`; a callback may
 * still lift `failed / unknown_outcome` to `delivered`.
 */
export const ALLOWED_FROM: Record<MessageStatus, readonly MessageStatus[]> = {
  // Back from `queued` when dispatch finds the contact's quiet hours began meanwhile (rule 5).
  scheduled: ["queued"],
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

type Value = string | number | null;
const SAFE_COLUMN = /^[a-z_]+$/;

export interface BulkRow {
  tenantId: string;
  messageId: string;
  /** Columns whose value differs per row (every row of one call gives the same keys). */
  set?: Record<string, Value>;
  detail?: string | null;
  /** The id of the status event written when this row moves (its receipt; generated when absent). */
  eventId?: string;
}

export interface BulkTransition {
  to: MessageStatus;
  /** Restrict further than ALLOWED_FROM. */
  from?: readonly MessageStatus[];
  at: string;
  /** Columns set to the same value on every row. */
  set?: Record<string, Value>;
  /** Counts a carrier call (`attempts = attempts + 1`). */
  incrementAttempts?: boolean;
  /**
   * A further SQL condition on the target row (columns as `messages.<column>`, no parameters),
   * checked in the same UPDATE: a row for which it is false stays where it is.
   */
  where?: string;
  rows: BulkRow[];
}

/**
 * A status change of many rows at once: the move is allowed only from ALLOWED_FROM[to] (optionally
 * narrower), a row that is not in one of those states is left alone, and exactly the rows that moved get their status event. Two
 * statements for any number of rows (the rows travel as one JSON parameter), instead of two per
 * row: the dispatcher's claim and result writes for a batch of 100 stay two statements each.
 *
 * The UPDATE returns the ids that moved (`results` of the first statement); the event INSERT picks
 * the rows now in `to` stamped with this call's `at` that have no such event yet.
 */
export function bulkTransitionStatements(d1: D1Database, t: BulkTransition): D1PreparedStatement[] {
  if (t.rows.length === 0) return [];
  const from = (t.from ?? ALLOWED_FROM[t.to]).filter((s) => ALLOWED_FROM[t.to].includes(s));
  const uniform: Record<string, Value> = { status: t.to, updated_at: t.at, ...t.set };
  // A per-row column whose value is the same on every row is set like a uniform one.
  const perRow: string[] = [];
  for (const c of new Set(t.rows.flatMap((r) => Object.keys(r.set ?? {})))) {
    const first = t.rows[0]?.set?.[c];
    if (first !== undefined && t.rows.every((r) => r.set?.[c] === first)) uniform[c] = first;
    else perRow.push(c);
  }
  for (const c of Object.keys(uniform)) if (!SAFE_COLUMN.test(c)) throw new Error(`bad column ${c}`);
  for (const c of perRow) if (!SAFE_COLUMN.test(c)) throw new Error(`bad column ${c}`);
  // One JSON object keyed by message id, bound once per statement (?1): each statement walks it once
  // with json_each and reaches every target row through the primary key, never by a scan (`+status`
  // and CROSS JOIN keep SQLite from starting at the status index instead).
  const byId: Record<string, { t: string; e: string; d?: string | null; s?: Record<string, Value> }> = {};
  const sameDetail = t.rows.every((r) => (r.detail ?? null) === (t.rows[0]?.detail ?? null));
  for (const r of t.rows) {
    const s: Record<string, Value> = {};
    for (const c of perRow) s[c] = r.set?.[c] ?? null;
    byId[r.messageId] = {
      t: r.tenantId,
      e: r.eventId ?? newId("messageEvent"),
      ...(sameDetail ? {} : { d: r.detail ?? null }),
      ...(perRow.length > 0 ? { s } : {}),
    };
  }
  const json = JSON.stringify(byId);
  const field = (path: string) => `json_extract(j.value, '$.${path}')`;
  const uniformCols = Object.keys(uniform);
  const assignments = [
    ...uniformCols.map((c, i) => `"${c}" = ?${i + 2}`),
    ...perRow.map((c) => `"${c}" = ${field(`s.${c}`)}`),
    ...(t.incrementAttempts ? ['"attempts" = messages."attempts" + 1'] : []),
  ];
  const fromAt = uniformCols.length + 2;
  const update = d1
    .prepare(
      `UPDATE messages SET ${assignments.join(", ")}
         FROM json_each(?1) AS j
        WHERE messages.id = j.key
          AND messages.tenant_id = ${field("t")}
          AND +messages.status IN (${from.map((_, i) => `?${fromAt + i}`).join(", ") || "NULL"})${
            t.where
              ? `
          AND (${t.where})`
              : ""
          }
        RETURNING messages.id AS id`,
    )
    .bind(json, ...Object.values(uniform), ...from);
  const events = d1
    .prepare(
      `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
       SELECT ${field("e")}, m.tenant_id, m.id, ?2, ${sameDetail ? "?4" : field("d")}, ?3
         FROM json_each(?1) AS j CROSS JOIN messages m ON m.id = j.key
        WHERE m.tenant_id = ${field("t")}
          AND m.status = ?2 AND m.updated_at = ?3
          AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.at = ?3 AND e.status = ?2)`,
    )
    .bind(json, t.to, t.at, ...(sameDetail ? [t.rows[0]?.detail ?? null] : []));
  return [update, events];
}

/** Ids that moved, from the result of a `bulkTransitionStatements` UPDATE. */
export const movedIds = (result: D1Result | undefined): Set<string> =>
  new Set(((result?.results ?? []) as { id: string }[]).map((r) => r.id));

/**
 * The statements of one status change: a conditional UPDATE and an event row written only when the
 * row moved, so a repeated transition (queue redelivery, duplicate callback) writes nothing. Run them
 * in one `db.batch()` with anything that must stand with them.
 */
export function transitionStatements(d1: D1Database, t: Transition): D1PreparedStatement[] {
  return bulkTransitionStatements(d1, {
    to: t.to,
    from: t.from,
    at: t.at ?? nowIso(),
    set: t.set,
    rows: [{ tenantId: t.tenantId, messageId: t.messageId, detail: t.detail }],
  });
}

/** Applies one transition; true when the row moved (false: already there, or not allowed from its state). */
export async function transition(env: Pick<Env, "DB">, t: Transition): Promise<boolean> {
  const [update] = await env.DB.batch(transitionStatements(env.DB, t));
  return movedIds(update).size === 1;
}
