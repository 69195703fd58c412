import { and, eq, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { ContactRow, ProgramRow, TenantRow } from "../db/rows";
import { programs } from "../db/schema";
import { occurrenceKey } from "../domain/rules/occurrence-key";
import {
  addDays,
  birthdayInYear,
  birthdayMonthDaysOn,
  cronRunsBetween,
  datesInWindow,
  localToUtc,
  nextCron,
} from "../domain/schedule";
import { iso } from "../lib/time";
import type { ServiceContext } from "../services/context";
import { audienceFilter, forEachAudiencePage, inAudience } from "../services/programs/audience";
import { dueFor } from "../services/programs/due";
import { createOccurrenceMessages, type Occurrence } from "../services/programs/execute";
import { contactZone } from "../services/programs/scope";

/**
 * One program's share of a scheduler tick, by trigger: birthdays, materialised due rows
 * (`attributes.<date>` and schedules in each contact's zone) and fixed-zone schedules.
 */

export const MAX_CATCH_UP_MS = 8 * 24 * 3_600_000;
/** Due messages are written in pages of this many (one createMessages call each). */
export const SCHEDULER_PAGE = 100;
const HOUR = 3_600_000;
const BIRTHDAY_PAGE = 500;
const dialect = new SQLiteAsyncDialect();

export interface TickStats {
  rowsRead: number;
  due: number;
  programs: number;
}

export interface Tick {
  ctx: ServiceContext;
  tenant: TenantRow;
  from: number;
  now: number;
  stats: TickStats;
}

type RawContact = Record<string, unknown>;

/** A contacts row read with raw D1 (snake_case, JSON as text) → the drizzle row shape. */
function toContact(r: RawContact): ContactRow {
  const attrs = r.attributes;
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    phone: r.phone as string,
    firstName: (r.first_name as string | null) ?? null,
    lastName: (r.last_name as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    externalId: (r.external_id as string | null) ?? null,
    timezone: (r.timezone as string | null) ?? null,
    locale: (r.locale as string | null) ?? null,
    birthday: (r.birthday as string | null) ?? null,
    birthdayMd: (r.birthday_md as string | null) ?? null,
    birthdayMonth: (r.birthday_month as number | null) ?? null,
    attributes: typeof attrs === "string" ? JSON.parse(attrs) : ((attrs as ContactRow["attributes"]) ?? {}),
    gender: (r.gender as string | null) ?? null,
    income: (r.income as string | null) ?? null,
    city: (r.city as string | null) ?? null,
    region: (r.region as string | null) ?? null,
    country: (r.country as string | null) ?? null,
    postalCode: (r.postal_code as string | null) ?? null,
    subscribed: Boolean(r.subscribed),
    marketingOptIn: Boolean(r.marketing_opt_in),
    unsubscribedAt: (r.unsubscribed_at as string | null) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  } as ContactRow;
}

/** No retroactive sends, and nothing past its validity. */
function sendable(p: ProgramRow, dueMs: number, now: number, notBefore: string[]): boolean {
  if (dueMs > now || dueMs + p.validityHours * HOUR <= now) return false;
  if (!p.activatedAt || dueMs < Date.parse(p.activatedAt)) return false;
  return notBefore.every((t) => dueMs >= Date.parse(t));
}

async function sendInPages(tick: Tick, program: ProgramRow, occ: Occurrence[]): Promise<void> {
  for (let i = 0; i < occ.length; i += SCHEDULER_PAGE) {
    const page = occ.slice(i, i + SCHEDULER_PAGE);
    tick.stats.due += page.length;
    await createOccurrenceMessages(tick.ctx, program, tick.tenant, page, tick.now);
  }
}

/**
 * Birthdays: the contacts whose birthday month-day falls on a local date that some zone is on
 * during the window (the `contacts_tenant_birthday_md` index), kept when their own local
 * `at` instant is inside the window. 29 February is read on 28 February in common years.
 */
async function tickBirthday(tick: Tick, p: ProgramRow): Promise<void> {
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
        sql`SELECT rowid AS rid, * FROM contacts INDEXED BY contacts_tenant_birthday_md
            WHERE tenant_id = ${tick.ctx.tenantId} AND birthday_md = ${md} AND rowid > ${after} AND subscribed = 1
            ${filter ? sql`AND ${filter}` : sql``}
            ORDER BY rowid LIMIT ${BIRTHDAY_PAGE}`,
      );
      const res = await tick.ctx.env.DB.prepare(q.sql)
        .bind(...q.params)
        .all<RawContact & { rid: number }>();
      tick.stats.rowsRead += res.meta.rows_read ?? 0;
      const rows = res.results;
      const occ: Occurrence[] = [];
      for (const r of rows) {
        const c = toContact(r);
        if (!c.birthday) continue;
        const zone = contactZone(c, tick.tenant);
        for (const d of dates) {
          const birthdayDate = addDays(d, -offset);
          const year = Number(birthdayDate.slice(0, 4));
          if (birthdayInYear(c.birthday, year) !== birthdayDate) continue;
          const due = localToUtc(d, at, zone);
          if (due <= tick.from || !sendable(p, due, tick.now, [c.createdAt])) continue;
          occ.push({ contact: c, occurrenceKey: occurrenceKey.birthday(p.id, c.id, year), sendAt: iso(due) });
        }
      }
      await sendInPages(tick, p, occ);
      const last = rows.at(-1);
      if (!last || rows.length < BIRTHDAY_PAGE) break;
      after = last.rid;
    }
  }
}

interface DueJoin extends RawContact {
  d_due_at: string;
  d_occurrence: string;
  d_armed_at: string;
}

/**
 * `attributes.<date>` triggers and schedules in each contact's zone: an index range scan on
 * `program_due (program_id, due_at)`. Each row read is consumed: a one-off date is deleted,
 * a schedule moves to its next occurrence, so the next tick reads only what became due since.
 */
async function tickMaterialised(tick: Tick, p: ProgramRow): Promise<void> {
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
      .all<DueJoin>();
    tick.stats.rowsRead += res.meta.rows_read ?? 0;
    const rows = res.results;
    if (rows.length === 0) return;
    const members = await inAudience(
      tick.ctx,
      p,
      rows.map((r) => r.id as string),
    );
    const occ: Occurrence[] = [];
    const advance: { c: string; d: string; o: string }[] = [];
    const consumed: string[] = [];
    for (const r of rows) {
      const c = toContact(r);
      const due = Date.parse(r.d_due_at);
      if (members.has(c.id) && sendable(p, due, tick.now, [r.d_armed_at, c.createdAt])) {
        occ.push({
          contact: c,
          occurrenceKey: occurrenceKey.dueRow(p.id, c.id, r.d_occurrence),
          sendAt: r.d_due_at,
        });
      }
      const next = p.trigger.type === "schedule" ? dueFor(p, c, tick.tenant, Math.max(due, tick.now)) : null;
      if (next) advance.push({ c: c.id, d: next.dueAt, o: next.occurrence });
      else consumed.push(c.id);
    }
    await sendInPages(tick, p, occ);
    const stmts: D1PreparedStatement[] = [];
    if (consumed.length > 0)
      stmts.push(
        db
          .prepare(
            "DELETE FROM program_due WHERE program_id = ? AND contact_id IN (SELECT value FROM json_each(?))",
          )
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
}

/** A schedule in one fixed zone: `programs.next_run_at` says when; the audience is written in pages. */
async function tickFixedSchedule(tick: Tick, p: ProgramRow): Promise<void> {
  if (p.trigger.type !== "schedule" || !p.nextRunAt) return;
  const planned = Date.parse(p.nextRunAt);
  if (planned > tick.now) return;
  const runs = cronRunsBetween(p.trigger.cron, p.trigger.timezone, planned - 1, tick.now);
  // After an outage only the latest run still inside its validity is sent, not a burst of stale ones.
  const run = runs.filter((t) => sendable(p, t, tick.now, [])).at(-1);
  if (run !== undefined) {
    const runIso = iso(run);
    await forEachAudiencePage(tick.ctx, p, SCHEDULER_PAGE, async (page) => {
      tick.stats.rowsRead += page.length;
      await sendInPages(
        tick,
        p,
        page.map((contact) => ({
          contact,
          occurrenceKey: occurrenceKey.scheduleRun(p.id, runIso, contact.id),
          sendAt: runIso,
        })),
      );
    });
  }
  const next = nextCron(p.trigger.cron, p.trigger.timezone, tick.now);
  await tick.ctx.db
    .update(programs)
    .set({ nextRunAt: next === null ? null : iso(next) })
    .where(and(eq(programs.id, p.id), eq(programs.nextRunAt, p.nextRunAt)));
}

export async function tickProgram(tick: Tick, p: ProgramRow): Promise<void> {
  const t = p.trigger;
  if (t.type === "date" && t.field === "birthday") return tickBirthday(tick, p);
  if (
    (t.type === "date" && t.field.startsWith("attributes.")) ||
    (t.type === "schedule" && t.timezone === "contact")
  )
    return tickMaterialised(tick, p);
  if (t.type === "schedule") return tickFixedSchedule(tick, p);
}
