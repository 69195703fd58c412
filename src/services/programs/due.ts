import { and, eq, inArray, sql } from "drizzle-orm";
import { IN_JSON_LIST, inJsonList } from "../../db/json-list";
import type { ContactRow, ProgramRow, TenantRow } from "../../db/rows";
import { contacts, programs } from "../../db/schema";
import { addDays, dateTriggerDue, nextCron } from "../../domain/schedule";
import { iso, nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { contactZone, loadTenant } from "./scope";

/** Contacts per page when due rows are computed. */
export const DUE_PAGE = 500;

type DueContact = Pick<ContactRow, "id" | "timezone" | "attributes">;

/** Programs whose occurrences live in `program_due` (no contacts column can answer "who is due"). */
export function isMaterialised(p: Pick<ProgramRow, "trigger" | "status">): boolean {
  const t = p.trigger;
  return (
    p.status === "active" &&
    ((t.type === "date" && t.field.startsWith("attributes.")) ||
      (t.type === "schedule" && t.timezone === "contact"))
  );
}

/** A calendar date read from an attribute value (`YYYY-MM-DD…`), else null. */
export function attributeDate(contact: Pick<ContactRow, "attributes">, field: string): string | null {
  const value = contact.attributes?.[field.slice("attributes.".length)];
  if (typeof value !== "string") return null;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(value);
  return m?.[1] ?? null;
}

/** The next occurrence of a materialised program for one contact (after `afterMs` for schedules). */
export function dueFor(
  program: Pick<ProgramRow, "trigger">,
  contact: DueContact,
  tenant: Pick<TenantRow, "timezone">,
  afterMs: number,
): { dueAt: string; occurrence: string } | null {
  const t = program.trigger;
  const zone = contactZone(contact, tenant);
  if (t.type === "date") {
    const date = attributeDate(contact, t.field);
    if (!date) return null;
    return {
      dueAt: iso(dateTriggerDue(date, t.offset_days, t.at, zone)),
      occurrence: addDays(date, t.offset_days),
    };
  }
  if (t.type === "schedule") {
    const next = nextCron(t.cron, zone, afterMs);
    return next === null ? null : { dueAt: iso(next), occurrence: iso(next) };
  }
  return null;
}

export interface DueRow {
  c: string;
  d: string;
  o: string;
}

export const DUE_INSERT = `INSERT INTO program_due (program_id, contact_id, tenant_id, due_at, occurrence, armed_at)
  SELECT ?1, json_extract(j.value, '$.c'), ?2, json_extract(j.value, '$.d'), json_extract(j.value, '$.o'), ?3
    FROM json_each(?4) j`;

/**
 * Upserts due rows. `armed_at` moves only when the occurrence changed (the date field was saved
 * with a new value), so an unrelated contact update never re-arms a past occurrence.
 */
async function upsertDue(
  ctx: ServiceContext,
  programId: string,
  rows: DueRow[],
  armedAt: string,
): Promise<void> {
  for (let i = 0; i < rows.length; i += DUE_PAGE) {
    const chunk = rows.slice(i, i + DUE_PAGE);
    await ctx.env.DB.prepare(
      `${DUE_INSERT} WHERE true
       ON CONFLICT (program_id, contact_id) DO UPDATE SET
         due_at = excluded.due_at,
         armed_at = CASE WHEN program_due.occurrence = excluded.occurrence THEN program_due.armed_at ELSE excluded.armed_at END,
         occurrence = excluded.occurrence`,
    )
      .bind(programId, ctx.tenantId, armedAt, JSON.stringify(chunk))
      .run();
  }
}

/**
 * Recomputes the due rows of these contacts for every materialised program of the tenant. Called
 * when contacts are created and when their zone, birthday or attributes change.
 */
export async function refreshContactDue(ctx: ServiceContext, contactIds: string[]): Promise<void> {
  if (contactIds.length === 0) return;
  const active = await ctx.db
    .select()
    .from(programs)
    .where(
      and(
        eq(programs.tenantId, ctx.tenantId),
        eq(programs.status, "active"),
        inArray(programs.triggerType, ["date", "schedule"]),
      ),
    )
    .all();
  const targets = active.filter(isMaterialised);
  if (targets.length === 0) return;
  const tenant = await loadTenant(ctx);
  const now = Date.now();
  const armedAt = nowIso();
  for (let i = 0; i < contactIds.length; i += DUE_PAGE) {
    const ids = contactIds.slice(i, i + DUE_PAGE);
    const rows = await ctx.db
      .select({ id: contacts.id, timezone: contacts.timezone, attributes: contacts.attributes })
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), sql`${contacts.id} IN ${inJsonList(ids)}`))
      .all();
    for (const program of targets) {
      const due: DueRow[] = [];
      const gone: string[] = [];
      for (const c of rows) {
        const d = dueFor(program, c, tenant, now);
        if (d) due.push({ c: c.id, d: d.dueAt, o: d.occurrence });
        else gone.push(c.id);
      }
      await upsertDue(ctx, program.id, due, armedAt);
      if (gone.length > 0) {
        await ctx.env.DB.prepare(
          `DELETE FROM program_due WHERE program_id = ? AND contact_id IN ${IN_JSON_LIST}`,
        )
          .bind(program.id, JSON.stringify(gone))
          .run();
      }
    }
  }
}
