import { and, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Cursor } from "../lib/pagination";

/** `WHERE (created_at, id) < cursor` for newest-first keyset pagination. */
export const beforeCursor = (
  createdAt: SQLiteColumn,
  id: SQLiteColumn,
  cursor: Cursor | undefined,
): SQL | undefined =>
  cursor
    ? or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(id, cursor.id)))
    : undefined;
