// Writes D1: consumes the `program_due` rows it read (deleted, or moved to the next occurrence).
import { IN_JSON_LIST } from "../../db/json-list";
import { type ContactRow, type RawRow, rowFromRaw } from "../../db/rows";
import { contacts } from "../../db/schema";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import { iso } from "../../lib/time";
import { inAudience } from "../../services/programs/audience";
import { dueFor } from "../../services/programs/due";
import type { DueOccurrence } from "../../services/programs/occurrence-pages";
import { queueOccurrences, SCHEDULER_PAGE, sendable, type TriggerTick } from "./tick";

/** One materialised `program_due` row with its contact. */
interface DueRow {
  contact: ContactRow;
  dueAt: string;
  occurrence: string;
  armedAt: string;
}

/** A row of the join below (`c.*` and the due row's columns, prefixed `d_`) → its due row. */
const dueRowFromRaw = (r: RawRow): DueRow => ({
  contact: rowFromRaw(contacts, r),
  dueAt: r.d_due_at as string,
  occurrence: r.d_occurrence as string,
  armedAt: r.d_armed_at as string,
});

/**
 * `attributes.<date>` triggers and schedules in each contact's zone: an index range scan on
 * `program_due (program_id, due_at)`. Each row read is consumed: a one-off date is deleted,
 * a schedule moves to its next occurrence, so the next tick reads only what became due since.
 */
export const tickDueRows: TriggerTick = async (tick, p) => {
  const db = tick.ctx.env.DB;
  const nowIso = iso(tick.now);
  for (let guard = 0; guard < 10_000; guard++) {
    const res = await db
      .prepare(
        `SELECT c.*, d.due_at AS d_due_at, d.occurrence AS d_occurrence, d.armed_at AS d_armed_at
         FROM program_due d JOIN contacts c ON c.id = d.contact_id
         WHERE d.program_id = ? AND d.due_at <= ?
         ORDER BY d.due_at LIMIT ?`,
      )
      .bind(p.id, nowIso, SCHEDULER_PAGE)
      .all<RawRow>();
    tick.stats.rowsRead += res.meta.rows_read ?? 0;
    const rows = res.results.map(dueRowFromRaw);
    if (rows.length === 0) return;
    const members = await inAudience(
      tick.ctx,
      p,
      rows.map((r) => r.contact.id),
    );
    const occ: DueOccurrence[] = [];
    const advance: { c: string; d: string; o: string }[] = [];
    const consumed: string[] = [];
    for (const { contact: c, dueAt, occurrence, armedAt } of rows) {
      const due = Date.parse(dueAt);
      if (members.has(c.id) && sendable(p, due, tick.now, [armedAt, c.createdAt])) {
        occ.push({
          contactId: c.id,
          occurrenceKey: occurrenceKey.dueRow(p.id, c.id, occurrence),
          sendAt: dueAt,
        });
      }
      const next = p.trigger.type === "schedule" ? dueFor(p, c, tick.tenant, Math.max(due, tick.now)) : null;
      if (next) advance.push({ c: c.id, d: next.dueAt, o: next.occurrence });
      else consumed.push(c.id);
    }
    await queueOccurrences(tick, p, occ);
    const stmts: D1PreparedStatement[] = [];
    if (consumed.length > 0)
      stmts.push(
        db
          .prepare(`DELETE FROM program_due WHERE program_id = ? AND contact_id IN ${IN_JSON_LIST}`)
          .bind(p.id, JSON.stringify(consumed)),
      );
    if (advance.length > 0)
      stmts.push(
        db
          .prepare(
            `UPDATE program_due SET due_at = json_extract(j.value, '$.d'), occurrence = json_extract(j.value, '$.o')
             FROM json_each(?) j WHERE program_due.program_id = ? AND program_due.contact_id = json_extract(j.value, '$.c')`,
          )
          .bind(JSON.stringify(advance), p.id),
      );
    if (stmts.length > 0) await db.batch(stmts);
  }
};
