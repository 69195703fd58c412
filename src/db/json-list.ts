import { type SQL, sql } from "drizzle-orm";

/**
 * D1 binds at most 100 parameters per statement, so a list of any length goes in as one JSON
 * parameter and is expanded in SQL. `IN ${inJsonList(ids)}` (drizzle) and `IN ${IN_JSON_LIST}` with
 * `JSON.stringify(ids)` bound (raw D1) are the two spellings of the same thing.
 */
export const inJsonList = (values: readonly unknown[]): SQL =>
  sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;

/** Raw-SQL form of `inJsonList`: bind `JSON.stringify(values)` in its place. */
export const IN_JSON_LIST = "(SELECT value FROM json_each(?))";
