import { newId } from "../lib/ids";
import { ALLOWED_FROM, type MessageStatus } from "../services/messages/status";

type Value = string | number | null;

export interface BulkRow {
  tenantId: string;
  messageId: string;
  /** Columns whose value differs per row (every row of one call gives the same keys). */
  set?: Record<string, Value>;
  detail?: string | null;
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
  rows: BulkRow[];
}

const SAFE_COLUMN = /^[a-z_]+$/;

/**
 * The many-row form of `transitionStatements` (src/services/messages/status.ts), with the same
 * rules: the move is allowed only from ALLOWED_FROM[to] (optionally narrower), a row that is not in
 * one of those states is left alone, and exactly the rows that moved get their status event. Two
 * statements for any number of rows (the rows travel as one JSON parameter), instead of two per
 * row: the dispatcher's claim and result writes for a batch of 100 stay two statements each.
 *
 * The UPDATE returns the ids that moved (`results` of the first statement); the event INSERT picks
 * the rows now in `to` stamped with this call's `at`.
 */
export function bulkTransitionStatements(d1: D1Database, t: BulkTransition): D1PreparedStatement[] {
  if (t.rows.length === 0) return [];
  const from = (t.from ?? ALLOWED_FROM[t.to]).filter((s) => ALLOWED_FROM[t.to].includes(s));
  const uniform: Record<string, Value> = { status: t.to, updated_at: t.at, ...t.set };
  const perRow = [...new Set(t.rows.flatMap((r) => Object.keys(r.set ?? {})))];
  for (const c of [...Object.keys(uniform), ...perRow])
    if (!SAFE_COLUMN.test(c)) throw new Error(`bad column ${c}`);
  // Keyed by message id: each row finds its own values with one indexed lookup of the JSON object,
  // and the target rows are found through the primary key (`id IN (SELECT key …)`), never by a scan.
  const byId: Record<string, { t: string; e: string; d: string | null; s: Record<string, Value> }> = {};
  for (const r of t.rows) {
    byId[r.messageId] = { t: r.tenantId, e: newId("messageEvent"), d: r.detail ?? null, s: r.set ?? {} };
  }
  const json = JSON.stringify(byId);
  const field = (alias: string, path: string) => `json_extract(?, '$."' || ${alias}.id || '".${path}')`;
  const assignments = [
    ...Object.keys(uniform).map((c) => `"${c}" = ?`),
    ...perRow.map((c) => `"${c}" = ${field("messages", `s.${c}`)}`),
    ...(t.incrementAttempts ? ['"attempts" = messages."attempts" + 1'] : []),
  ];
  const update = d1
    .prepare(
      `UPDATE messages SET ${assignments.join(", ")}
        WHERE messages.id IN (SELECT key FROM json_each(?))
          AND messages.tenant_id = ${field("messages", "t")}
          AND messages.status IN (${from.map(() => "?").join(", ") || "NULL"})
        RETURNING messages.id AS id`,
    )
    .bind(...Object.values(uniform), ...perRow.map(() => json), json, json, ...from);
  const events = d1
    .prepare(
      `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
       SELECT ${field("m", "e")}, m.tenant_id, m.id, ?, ${field("m", "d")}, ?
         FROM messages m
        WHERE m.id IN (SELECT key FROM json_each(?)) AND m.tenant_id = ${field("m", "t")}
          AND m.status = ? AND m.updated_at = ?`,
    )
    .bind(json, t.to, json, t.at, json, json, t.to, t.at);
  return [update, events];
}

/** Ids that moved, from the result of a `bulkTransitionStatements` UPDATE. */
export const movedIds = (result: D1Result | undefined): Set<string> =>
  new Set(((result?.results ?? []) as { id: string }[]).map((r) => r.id));
