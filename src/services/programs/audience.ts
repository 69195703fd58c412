import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import type { ContactRow, ProgramRow } from "../../db/rows";
import { contacts, segments } from "../../db/schema";
import { compileFilter, type Filter, FilterSchema } from "../../domain/segment-filter";
import { HttpProblem } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { filterToSql } from "../segments/segments";

/** Throws a 422 naming `audience.filter.…` when a filter is not a valid segment filter. */
export function validateAudienceFilter(filter: unknown): void {
  const res = FilterSchema.safeParse(filter);
  if (res.success) return;
  const errors = res.error.issues.map((i) => ({
    path: ["audience", "filter", ...i.path.map(String)].join("."),
    message: i.message,
  }));
  throw new HttpProblem("validation_failed", errors.map((e) => `${e.path}: ${e.message}`).join("; "), errors);
}

/** A segment filter compiled to a parenthesised SQL fragment with bound parameters. */
const filterSql = (filter: unknown): SQL =>
  sql`(${filterToSql(compileFilter(filter as Filter, { now: new Date() }))})`;

/**
 * The segment's or inline filter of a program's audience as SQL over `contacts` columns; null
 * when the audience is everyone subscribed. A deleted segment matches nobody rather than everybody.
 */
export async function audienceFilter(
  ctx: ServiceContext,
  program: Pick<ProgramRow, "audience">,
): Promise<SQL | null> {
  const audience = program.audience;
  if (!audience) return null;
  if ("segment_id" in audience) {
    const seg = await ctx.db
      .select({ filter: segments.filter })
      .from(segments)
      .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, audience.segment_id)))
      .get();
    return seg ? filterSql(seg.filter) : sql`0`;
  }
  return filterSql(audience.filter);
}

/**
 * The SQL condition of a program's audience over `contacts`: the tenant's subscribed contacts,
 * narrowed by the segment's or the inline filter. Unsubscribed contacts are never in an audience.
 */
export async function audienceCondition(
  ctx: ServiceContext,
  program: Pick<ProgramRow, "audience">,
): Promise<SQL> {
  const base = and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.subscribed, true)) as SQL;
  const filter = await audienceFilter(ctx, program);
  return filter ? (and(base, filter) as SQL) : base;
}

/** Which of these contact ids are in the program's audience. */
export async function inAudience(
  ctx: ServiceContext,
  program: Pick<ProgramRow, "audience">,
  contactIds: string[],
): Promise<Set<string>> {
  if (contactIds.length === 0) return new Set();
  const cond = await audienceCondition(ctx, program);
  const rows = await ctx.db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(cond, sql`${contacts.id} IN ${inJsonList(contactIds)}`))
    .all();
  return new Set(rows.map((r) => r.id));
}

export async function countAudience(
  ctx: ServiceContext,
  program: Pick<ProgramRow, "audience">,
): Promise<number> {
  const cond = await audienceCondition(ctx, program);
  const row = await ctx.db.select({ n: sql<number>`count(*)` }).from(contacts).where(cond).get();
  return row?.n ?? 0;
}

/**
 * Walks the audience in pages of `size` contacts (keyset on id), never loading it whole. With
 * `maxPages`, stops after that many and returns the id to continue after; null once it is all done.
 */
export async function forEachAudiencePage(
  ctx: ServiceContext,
  program: Pick<ProgramRow, "audience">,
  size: number,
  fn: (page: ContactRow[]) => Promise<void>,
  opts: { after?: string; maxPages?: number } = {},
): Promise<string | null> {
  const cond = await audienceCondition(ctx, program);
  let after = opts.after ?? "";
  for (let pages = 0; ; pages++) {
    // Out of budget: the caller continues later from this contact id.
    if (opts.maxPages !== undefined && pages >= opts.maxPages) return after;
    const page = await ctx.db
      .select()
      .from(contacts)
      .where(and(cond, gt(contacts.id, after)))
      .orderBy(asc(contacts.id))
      .limit(size)
      .all();
    if (page.length > 0) await fn(page);
    const last = page.at(-1);
    if (!last || page.length < size) return null;
    after = last.id;
  }
}
