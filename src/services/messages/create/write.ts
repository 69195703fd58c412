/**
 * Step 3 of creation: the decided rows go into the outbox in one write batch (a row whose
 * occurrence key was taken meanwhile is skipped with its event), then the rows are read back and
 * every decision gets its answer — the row written, the row that won the race for its key, or the
 * answer of the input it aliases.
 */
import { and, eq, sql } from "drizzle-orm";
import { ALWAYS, type SqlGuard } from "../../../db/guard";
import { inJsonList } from "../../../db/json-list";
import type { MessageRow } from "../../../db/rows";
import { messages } from "../../../db/schema";
import type { ServiceContext } from "../../context";
import type { Decision } from "./decide";
import type { CreatedMessage, InsertRow } from "./types";

const INSERT_COLUMNS = [
  "id",
  "contact_id",
  "program_id",
  "run_id",
  "event_id",
  "occurrence_key",
  "to",
  "phone_hash",
  "body",
  "body_hash",
  "encoding",
  "segments",
  "characters",
  "category",
  "quiet_hours",
  "status",
  "status_reason",
  "error_message",
  "scheduled_at",
  "expires_at",
  "next_attempt_at",
  "carrier_id",
  "carrier_pinned",
  "keyword_reply",
  "from",
  "sent_at",
  "attempts",
] as const satisfies readonly (keyof InsertRow)[];

const insertMessagesSql = (
  onlyIf: string,
) => `INSERT INTO messages (tenant_id, created_at, updated_at, ${INSERT_COLUMNS.map((c) => `"${c}"`).join(", ")})
  SELECT ?1, ?2, ?2, ${INSERT_COLUMNS.map((c) => `json_extract(value, '$.${c}')`).join(", ")}
  FROM json_each(?3) WHERE ${onlyIf}
  ON CONFLICT DO NOTHING`;

// The event row exists only when its message did (an occurrence key may have been taken meanwhile).
const INSERT_EVENTS_SQL = `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
  SELECT json_extract(value, '$.event_id_'), ?1, json_extract(value, '$.id'), json_extract(value, '$.status'),
         json_extract(value, '$.detail'), ?2
  FROM json_each(?3)
  WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = json_extract(value, '$.id') AND m.tenant_id = ?1)`;

/**
 * The two statements that write outbox rows and their first event (a row whose occurrence key is
 * taken is skipped, and so is its event). With `onlyIf`, nothing is written unless it holds — for
 * rows that must stand or fall with other statements of the same batch (a keyword reply with its
 * inbound message). Rows are never enqueued here.
 */
export function insertMessageStatements(
  d1: D1Database,
  tenantId: string,
  now: string,
  rows: InsertRow[],
  onlyIf: SqlGuard = ALWAYS,
): D1PreparedStatement[] {
  const payload = JSON.stringify(rows);
  return [
    d1.prepare(insertMessagesSql(onlyIf.sql)).bind(tenantId, now, payload, ...onlyIf.params),
    d1.prepare(INSERT_EVENTS_SQL).bind(tenantId, now, payload),
  ];
}

/** Writes the new rows of `decisions` and answers each decision, in order. */
export async function writeDecisions(
  ctx: ServiceContext,
  decisions: readonly Decision[],
  now: string,
): Promise<CreatedMessage[]> {
  const rows = decisions.flatMap((d) => (d.kind === "new" ? [d.row] : []));
  const written = new Map<string, MessageRow>();
  const raced = new Map<string, MessageRow>();
  if (rows.length > 0) {
    const db = ctx.db;
    const ids = rows.map((r) => r.id);
    const keys = rows.flatMap((r) => (r.occurrence_key ? [r.occurrence_key] : []));
    await ctx.env.DB.batch(insertMessageStatements(ctx.env.DB, ctx.tenantId, now, rows));
    const [mine, byKey] = await db.batch([
      db
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, ctx.tenantId), sql`${messages.id} IN ${inJsonList(ids)}`)),
      db
        .select()
        .from(messages)
        .where(
          and(eq(messages.tenantId, ctx.tenantId), sql`${messages.occurrenceKey} IN ${inJsonList(keys)}`),
        ),
    ]);
    for (const m of mine) written.set(m.id, m);
    for (const m of byKey) if (m.occurrenceKey) raced.set(m.occurrenceKey, m);
  }
  const out: CreatedMessage[] = [];
  for (const d of decisions) out.push(answer(d, out, written, raced));
  return out;
}

function answer(
  d: Decision,
  earlier: readonly CreatedMessage[],
  written: ReadonlyMap<string, MessageRow>,
  raced: ReadonlyMap<string, MessageRow>,
): CreatedMessage {
  if (d.kind === "existing") return { message: d.message, created: false };
  if (d.kind === "alias") {
    const first = earlier[d.of];
    if (!first) throw new Error("occurrence alias out of order");
    return { message: first.message, created: false };
  }
  const mine = written.get(d.row.id);
  if (mine) return { message: mine, created: true };
  // Another request claimed the occurrence key between our read and our write.
  const other = d.row.occurrence_key ? raced.get(d.row.occurrence_key) : undefined;
  if (!other) throw new Error(`message ${d.row.id} was neither written nor found`);
  return { message: other, created: false };
}
