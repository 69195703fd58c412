/**
 * A condition several statements of one `db.batch()` share, so they take effect together or not
 * at all without an interactive transaction: e.g. "the inbound row this attempt inserted exists" —
 * false when a concurrent attempt inserted it first, and every guarded statement then does nothing.
 * `sql` uses positional `?` only and is placed after every other parameter of the statement.
 */
export interface SqlGuard {
  sql: string;
  params: (string | number | null)[];
}

/** The guard that always holds. */
export const ALWAYS: SqlGuard = { sql: "1", params: [] };

/** Both guards. */
export const both = (a: SqlGuard, b: SqlGuard): SqlGuard => ({
  sql: `(${a.sql}) AND (${b.sql})`,
  params: [...a.params, ...b.params],
});
