import { sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import {
  addDays,
  birthdayInYear,
  birthdayMonthDaysOn,
  datesInWindow,
  localToUtc,
} from "../../domain/schedule";
import { iso } from "../../lib/time";
import { audienceFilter } from "../../services/programs/audience";
import type { DueOccurrence } from "../../services/programs/occurrence-pages";
import { contactZone } from "../../services/programs/scope";
import { queueOccurrences, sendable, type TriggerTick } from "./tick";

const BIRTHDAY_PAGE = 500;
const HOUR = 3_600_000;
const dialect = new SQLiteAsyncDialect();

/** The columns a birthday's due time needs (the messages are created later, from the whole row). */
interface BirthdayRow {
  rid: number;
  id: string;
  birthday: string | null;
  timezone: string | null;
  created_at: string;
}

/**
 * Birthdays: the contacts whose birthday month-day falls on a local date that some zone is on
 * during the window (the `contacts_tenant_birthday_md` index), kept when their own local
 * `at` instant is inside the window. 29 February is read on 28 February in common years.
 */
export const tickBirthdays: TriggerTick = async (tick, p) => {
  if (p.trigger.type !== "date") return;
  const { offset_days: offset, at } = p.trigger;
  // A local date d is due somewhere on Earth between its `at` in UTC+14 and in UTC−12 (an hour
  // of margin each side for DST): only dates whose span meets the window are read.
  const [hh, mm] = at.split(":").map(Number) as [number, number];
  const dates = datesInWindow(tick.from, tick.now).filter((d) => {
    const utcAt = Date.parse(`${d}T00:00:00.000Z`) + (hh * 60 + mm) * 60_000;
    return utcAt - 15 * HOUR <= tick.now && utcAt + 13 * HOUR > tick.from;
  });
  const mds = [...new Set(dates.flatMap((d) => birthdayMonthDaysOn(addDays(d, -offset))))];
  const filter = await audienceFilter(tick.ctx, p);
  for (const md of mds) {
    // One month-day at a time, paged by rowid: an equality range of the birthday index, whose
    // entries are in rowid order, so no page sorts or scans beyond that day's birthdays.
    let after = 0;
    for (;;) {
      const q = dialect.sqlToQuery(
        sql`SELECT rowid AS rid, id, birthday, timezone, created_at FROM contacts INDEXED BY contacts_tenant_birthday_md
            WHERE tenant_id = ${tick.ctx.tenantId} AND birthday_md = ${md} AND rowid > ${after} AND subscribed = 1
            ${filter ? sql`AND ${filter}` : sql``}
            ORDER BY rowid LIMIT ${BIRTHDAY_PAGE}`,
      );
      const res = await tick.ctx.env.DB.prepare(q.sql)
        .bind(...q.params)
        .all<BirthdayRow>();
      tick.stats.rowsRead += res.meta.rows_read ?? 0;
      const rows = res.results;
      const occ: DueOccurrence[] = [];
      for (const c of rows) {
        if (!c.birthday) continue;
        const zone = contactZone(c, tick.tenant);
        for (const d of dates) {
          const birthdayDate = addDays(d, -offset);
          const year = Number(birthdayDate.slice(0, 4));
          if (birthdayInYear(c.birthday, year) !== birthdayDate) continue;
          const due = localToUtc(d, at, zone);
          if (due <= tick.from || !sendable(p, due, tick.now, [c.created_at])) continue;
          occ.push({
            contactId: c.id,
            occurrenceKey: occurrenceKey.birthday(p.id, c.id, year),
            sendAt: iso(due),
          });
        }
      }
      await queueOccurrences(tick, p, occ);
      const last = rows.at(-1);
      if (!last || rows.length < BIRTHDAY_PAGE) break;
      after = last.rid;
    }
  }
};
