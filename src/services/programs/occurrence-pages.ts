/**
 * Pages of due occurrences (issue 11, item 7): the scheduler tick decides what is due and writes it
 * here, one `program_occurrence_pages` row per page of ≤ 100 occurrences, then rings the work queue
 * with the page ids; the work consumer creates the page's messages and deletes the row. So the tick
 * no longer renders and writes messages, and its own time stays small however many are due.
 *
 * D1 is the truth, the queue a doorbell (rule 9): a page is written leased `now`; a consumer that
 * takes it leases it `LEASE_MS` on (`claimedLease`); a page whose lease ran out more than `LEASE_MS`
 * ago lost its doorbell and is rung again by the tick's sweep (pipeline/recovery/programs.ts).
 * Creating a page's messages is idempotent (occurrence keys, rule 2): a page handled twice, or
 * written twice by a tick that was killed before it settled its window, creates nothing twice.
 */
import { and, eq, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import { contacts, programOccurrencePages, programs } from "../../db/schema";
import { claimedLease } from "../../domain/rules/lease";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { createOccurrenceMessages, type Occurrence } from "./execute";
import { loadTenant } from "./scope";

/** Occurrences per page: one createMessages call each, and one work-queue job. */
export const OCCURRENCE_PAGE = 100;
/** Page rows per INSERT (7 bound values each: well under D1's 100 per statement). */
const ROWS_PER_INSERT = 10;

type PageRow = typeof programOccurrencePages.$inferInsert;

/** What the tick decided is due: which contact, which occurrence, when (ISO). */
export interface DueOccurrence {
  contactId: string;
  occurrenceKey: string;
  sendAt: string;
}

/**
 * Writes `occurrences` of `programId` as pages of `OCCURRENCE_PAGE`, each leased now (its doorbell
 * is rung next), in one round trip; returns the page ids, in order. `now` is the tick's instant:
 * what the templates will read as now when the messages are created.
 */
export async function writeOccurrencePages(
  ctx: ServiceContext,
  programId: string,
  occurrences: readonly DueOccurrence[],
  now: number,
): Promise<string[]> {
  const rows: PageRow[] = [];
  const createdAt = iso();
  for (let i = 0; i < occurrences.length; i += OCCURRENCE_PAGE) {
    const items = occurrences
      .slice(i, i + OCCURRENCE_PAGE)
      .map((o) => ({ c: o.contactId, k: o.occurrenceKey, s: o.sendAt }));
    rows.push({
      id: newId("occurrencePage"),
      tenantId: ctx.tenantId,
      programId,
      items,
      nowMs: now,
      leaseUntil: createdAt,
      createdAt,
    });
  }
  if (rows.length === 0) return [];
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
    inserts.push(ctx.db.insert(programOccurrencePages).values(rows.slice(i, i + ROWS_PER_INSERT)));
  const [first, ...rest] = inserts;
  if (first) await ctx.db.batch([first, ...rest]);
  return rows.map((r) => r.id);
}

/**
 * The work-queue job of one page: takes it (a lease), creates its messages through
 * `createOccurrenceMessages` (sending rules, exits, templates, as the tick did), then deletes it.
 * A page already done (no row) does nothing. Contacts deleted or unsubscribed since the tick are
 * left out (never in an audience); a page of a program deleted or archived since is dropped
 * (archiving cancels the program's pending messages).
 */
export async function continueOccurrencePage(ctx: ServiceContext, pageId: string): Promise<number> {
  const [page] = await ctx.db
    .update(programOccurrencePages)
    .set({ leaseUntil: claimedLease(Date.now()) })
    .where(and(eq(programOccurrencePages.tenantId, ctx.tenantId), eq(programOccurrencePages.id, pageId)))
    .returning()
    .all();
  if (!page) return 0;
  const [program, tenant, rows] = await Promise.all([
    ctx.db
      .select()
      .from(programs)
      .where(and(eq(programs.tenantId, ctx.tenantId), eq(programs.id, page.programId)))
      .get(),
    loadTenant(ctx),
    ctx.db
      .select()
      .from(contacts)
      .where(
        and(
          eq(contacts.tenantId, ctx.tenantId),
          eq(contacts.subscribed, true),
          sql`${contacts.id} IN ${inJsonList(page.items.map((i) => i.c))}`,
        ),
      )
      .all(),
  ]);
  let created = 0;
  if (program && program.status !== "archived") {
    const byId = new Map(rows.map((c) => [c.id, c]));
    const occurrences: Occurrence[] = page.items.flatMap((i) => {
      const contact = byId.get(i.c);
      return contact ? [{ contact, occurrenceKey: i.k, sendAt: i.s }] : [];
    });
    created = (await createOccurrenceMessages(ctx, program, tenant, occurrences, page.nowMs)).length;
  }
  await ctx.db.delete(programOccurrencePages).where(eq(programOccurrencePages.id, pageId));
  return created;
}
