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
  const unique = new Map(t.rows.map((r) => [r.messageId, r]));
  const rows = [...unique.values()].map((r) => ({
    id: r.messageId,
    t: r.tenantId,
    e: newId("messageEvent"),
    d: r.detail ?? null,
    s: r.set ?? {},
  }));
  const json = JSON.stringify(rows);
  const assignments = [
    ...Object.keys(uniform).map((c) => `"${c}" = ?`),
    ...perRow.map((c) => `"${c}" = json_extract(j.value, '$.s.${c}')`),
    ...(t.incrementAttempts ? ['"attempts" = messages."attempts" + 1'] : []),
  ];
  const update = d1
    .prepare(
      `UPDATE messages SET ${assignments.join(", ")}
         FROM json_each(?) j
        WHERE messages.id = json_extract(j.value, '$.id') AND messages.tenant_id = json_extract(j.value, '$.t')
          AND messages.status IN (${from.map(() => "?").join(", ") || "NULL"})
        RETURNING messages.id AS id`,
    )
    .bind(...Object.values(uniform), json, ...from);
  const events = d1
    .prepare(
      `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
       SELECT json_extract(j.value, '$.e'), m.tenant_id, m.id, ?, json_extract(j.value, '$.d'), ?
         FROM json_each(?) j JOIN messages m ON m.id = json_extract(j.value, '$.id')
        WHERE m.tenant_id = json_extract(j.value, '$.t') AND m.status = ? AND m.updated_at = ?`,
    )
    .bind(t.to, t.at, json, t.to, t.at);
  return [update, events];
}

/** Ids that moved, from the result of a `bulkTransitionStatements` UPDATE. */
export const movedIds = (result: D1Result | undefined): Set<string> =>
  new Set(((result?.results ?? []) as { id: string }[]).map((r) => r.id));
