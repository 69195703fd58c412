import { type Cursor, decodeCursor } from "../../lib/pagination";
import { notFound } from "../../lib/problem";
import type { ServiceContext } from "../context";

interface TimelineRow {
  type: "message.outbound" | "message.inbound" | "event" | "consent";
  at: string;
  id: string;
  item: string;
}

export type TimelineEntry =
  | {
      type: "message.outbound";
      at: string;
      id: string;
      body: string;
      to: string;
      from: string | null;
      status: string;
      status_reason: string | null;
      program_id: string | null;
      carrier_id: string | null;
      segments: number;
    }
  | {
      type: "message.inbound";
      at: string;
      id: string;
      body: string;
      from: string;
      to: string;
      keyword: string | null;
    }
  | {
      type: "event";
      at: string;
      id: string;
      name: string;
      data: Record<string, unknown>;
      occurred_at: string;
      source: string;
    }
  | { type: "consent"; at: string; id: string; change: string; source: string; text: string | null };

/**
 * Everything one contact sent, received and triggered — outbound and inbound messages, events and
 * consent changes, from every program and department — newest first, keyset-paginated across the
 * four sources on `(at, id)`. Each source is read through its `(tenant, contact, time)` index.
 */
export async function contactTimeline(
  ctx: ServiceContext,
  contactId: string,
  input: { limit: number; cursor?: string },
): Promise<{ rows: (TimelineEntry & { createdAt: string })[] }> {
  const exists = await ctx.env.DB.prepare("SELECT 1 AS ok FROM contacts WHERE tenant_id = ? AND id = ?")
    .bind(ctx.tenantId, contactId)
    .first();
  if (!exists) throw notFound("Contact");
  const cursor: Cursor | undefined = decodeCursor(input.cursor);
  const after = cursor ? "WHERE at < ?1 OR (at = ?1 AND id < ?2)" : "";
  // Each branch is pre-limited so SQLite never reads more than one page per source.
  const branch = (sql: string) =>
    `SELECT * FROM (${sql}) ${cursor ? "WHERE at < ?1 OR (at = ?1 AND id < ?2)" : ""} ORDER BY at DESC, id DESC LIMIT ?5`;
  const query = `
    SELECT type, at, id, item FROM (
      SELECT * FROM (${branch(`SELECT 'message.outbound' AS type, created_at AS at, id,
          json_object('body', body, 'to', "to", 'from', "from", 'status', status, 'status_reason', status_reason,
            'program_id', program_id, 'carrier_id', carrier_id, 'segments', segments) AS item
        FROM messages WHERE tenant_id = ?3 AND contact_id = ?4`)})
      UNION ALL
      SELECT * FROM (${branch(`SELECT 'message.inbound' AS type, received_at AS at, id,
          json_object('body', body, 'from', "from", 'to', "to", 'keyword', keyword) AS item
        FROM inbound_messages WHERE tenant_id = ?3 AND contact_id = ?4`)})
      UNION ALL
      SELECT * FROM (${branch(`SELECT 'event' AS type, created_at AS at, id,
          json_object('name', name, 'data', json(data), 'occurred_at', occurred_at, 'source', source) AS item
        FROM events WHERE tenant_id = ?3 AND contact_id = ?4`)})
      UNION ALL
      SELECT * FROM (${branch(`SELECT 'consent' AS type, created_at AS at, id,
          json_object('change', change, 'source', source, 'text', text) AS item
        FROM consent_records WHERE tenant_id = ?3 AND contact_id = ?4`)})
    ) ${after} ORDER BY at DESC, id DESC LIMIT ?5`;
  const result = await ctx.env.DB.prepare(query)
    .bind(cursor?.createdAt ?? "", cursor?.id ?? "", ctx.tenantId, contactId, input.limit + 1)
    .all<TimelineRow>();
  return {
    rows: result.results.map(
      (r) =>
        ({ type: r.type, at: r.at, id: r.id, createdAt: r.at, ...JSON.parse(r.item) }) as TimelineEntry & {
          createdAt: string;
        },
    ),
  };
}
