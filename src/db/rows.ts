import { getTableColumns, type Table } from "drizzle-orm";
import type { contacts, messages, programs, tenants } from "./schema";

/**
 * The row types of Herald's main tables, as drizzle reads them (camelCase keys, JSON parsed,
 * booleans as booleans). Every module takes them from here.
 */
export type TenantRow = typeof tenants.$inferSelect;
export type ContactRow = typeof contacts.$inferSelect;
export type ProgramRow = typeof programs.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;

/** A row as raw D1 returns it (`SELECT *`): snake_case column names, JSON as text, booleans as 0/1. */
export type RawRow = Record<string, unknown>;

/**
 * The one mapping from a raw D1 row to drizzle's row shape, for queries drizzle cannot write (an
 * `INDEXED BY`, a join read with `c.*`): each column of `table` is read under its SQL name and
 * decoded by drizzle's own column (JSON, booleans), so raw and drizzle reads give the same row.
 *
 * @example rowFromRaw(contacts, { id: "ct_1", tenant_id: "tn_1", subscribed: 1, attributes: "{}", … })
 * // { id: "ct_1", tenantId: "tn_1", subscribed: true, attributes: {}, … }
 */
export function rowFromRaw<T extends Table>(table: T, raw: RawRow): T["$inferSelect"] {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out as T["$inferSelect"];
}
