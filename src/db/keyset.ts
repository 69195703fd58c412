import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { type Cursor, decodeCursor } from "../lib/pagination";
import type { Db } from "./client";

/** `WHERE (created_at, id) < cursor` for newest-first keyset pagination. */
export const beforeCursor = (
  createdAt: SQLiteColumn,
  id: SQLiteColumn,
  cursor: Cursor | undefined,
): SQL | undefined =>
  cursor
    ? or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(id, cursor.id)))
    : undefined;

/** A tenant table that lists newest first by `(created_at, id)`. */
type Listable = SQLiteTable & { tenantId: SQLiteColumn; createdAt: SQLiteColumn; id: SQLiteColumn };

/**
 * One page of a tenant's rows, newest first, plus one row to tell whether there is a next page
 * (PRODUCT.md, lists): the shape of every `GET /v1/<resource>` list. `where` narrows it further
 * (e.g. not deleted).
 */
export function newestFirstPage<T extends Listable>(
  db: Db,
  table: T,
  tenantId: string,
  page: { limit: number; cursor?: string | undefined },
  ...where: (SQL | undefined)[]
): Promise<T["$inferSelect"][]> {
  const cursor = decodeCursor(page.cursor);
  return db
    .select()
    .from(table as SQLiteTable)
    .where(and(eq(table.tenantId, tenantId), ...where, beforeCursor(table.createdAt, table.id, cursor)))
    .orderBy(desc(table.createdAt), desc(table.id))
    .limit(page.limit + 1)
    .all() as Promise<T["$inferSelect"][]>;
}
