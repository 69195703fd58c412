import { and, count, desc, eq, type SQL, sql } from "drizzle-orm";
import { beforeCursor, newestFirstPage } from "../../db/keyset";
import type { ContactRow } from "../../db/rows";
import { contacts, segments } from "../../db/schema";
import { type CompiledFilter, compileFilter, type Filter, packParams } from "../../domain/segment-filter";
import { newId } from "../../lib/ids";
import { decodeCursor } from "../../lib/pagination";
import { HttpProblem, invalidField, notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";

export type SegmentRow = typeof segments.$inferSelect;

/**
 * A compiled filter as a drizzle SQL fragment: its `?` placeholders become bound parameters (at
 * most one JSON array for a large filter: D1 binds at most 100 per query).
 */
export function filterToSql(unpacked: CompiledFilter): SQL {
  const compiled = packParams(unpacked);
  const parts = compiled.sql.split("?");
  if (parts.length !== compiled.params.length + 1)
    throw new Error("compiled filter placeholders and params differ");
  const chunks: SQL[] = [];
  parts.forEach((part, i) => {
    chunks.push(sql.raw(part));
    if (i < compiled.params.length) chunks.push(sql`${compiled.params[i]}`);
  });
  return sql.join(chunks, sql.raw(""));
}

/** The contacts of the tenant matching `filter`, as a WHERE condition. */
export const matching = (ctx: ServiceContext, filter: Filter, now = new Date()): SQL =>
  and(eq(contacts.tenantId, ctx.tenantId), filterToSql(compileFilter(filter, { now }))) as SQL;

/** How many of the tenant's contacts match (subscribed or not). */
export async function countMatching(ctx: ServiceContext, filter: Filter): Promise<number> {
  const row = await ctx.db.select({ n: count() }).from(contacts).where(matching(ctx, filter)).get();
  return row?.n ?? 0;
}

/** One page of matching contacts, newest first (`limit + 1` rows for `page()`). */
export async function listMatching(
  ctx: ServiceContext,
  filter: Filter | null,
  input: { limit: number; cursor?: string },
  extra?: SQL,
): Promise<ContactRow[]> {
  const cursor = decodeCursor(input.cursor);
  return ctx.db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.tenantId, ctx.tenantId),
        filter ? filterToSql(compileFilter(filter, { now: new Date() })) : undefined,
        extra,
        beforeCursor(contacts.createdAt, contacts.id, cursor),
      ),
    )
    .orderBy(desc(contacts.createdAt), desc(contacts.id))
    .limit(input.limit + 1)
    .all();
}

export async function createSegment(
  ctx: ServiceContext,
  input: { name: string; filter: Filter },
): Promise<SegmentRow> {
  const now = nowIso();
  const row: SegmentRow = {
    id: newId("segment"),
    tenantId: ctx.tenantId,
    name: input.name,
    filter: input.filter,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.db.insert(segments).values(row).run();
  return row;
}

export async function getSegment(ctx: ServiceContext, id: string): Promise<SegmentRow> {
  const row = await ctx.db
    .select()
    .from(segments)
    .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, id)))
    .get();
  if (!row) throw notFound("Segment");
  return row;
}

/** A segment named by a body or query field: a missing one is a 422 naming that field. */
export async function segmentReference(
  ctx: ServiceContext,
  id: string,
  field = "segment_id",
): Promise<SegmentRow> {
  const row = await ctx.db
    .select()
    .from(segments)
    .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, id)))
    .get();
  if (!row) throw invalidField(field, "does not exist");
  return row;
}

export async function listSegments(ctx: ServiceContext, input: { limit: number; cursor?: string }) {
  return newestFirstPage(ctx.db, segments, ctx.tenantId, input);
}

export async function updateSegment(
  ctx: ServiceContext,
  id: string,
  input: { name?: string; filter?: Filter },
): Promise<SegmentRow> {
  const rows = await ctx.db
    .update(segments)
    .set({
      ...(input.name !== undefined && { name: input.name }),
      ...(input.filter !== undefined && { filter: input.filter }),
      updatedAt: nowIso(),
    })
    .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, id)))
    .returning()
    .all();
  const row = rows[0];
  if (!row) throw notFound("Segment");
  return row;
}

/** Deletes a segment; one still named as the audience of a live program is a 409. */
export async function deleteSegment(ctx: ServiceContext, id: string): Promise<void> {
  await getSegment(ctx, id);
  const user = await ctx.env.DB.prepare(
    `SELECT id FROM programs WHERE tenant_id = ? AND status != 'archived'
       AND json_extract(audience, '$.segment_id') = ? LIMIT 1`,
  )
    .bind(ctx.tenantId, id)
    .first<{ id: string }>();
  if (user) throw new HttpProblem("conflict", `Program ${user.id} uses this segment as its audience`);
  await ctx.db
    .delete(segments)
    .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, id)))
    .run();
}
