import type { SqlGuard } from "../../db/guard";
import { analyzeBody } from "../../domain/encoding";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type { InsertRow } from "./create";

/** A keyword reply that has not gone out within an hour is no longer an answer. */
const REPLY_VALIDITY_MS = 3_600_000;

export interface KeywordReply {
  to: string;
  phoneHash: string;
  contactId: string | null;
  body: string;
  /** Answer from the carrier the person wrote to (pinned: no failover). */
  carrierId: string;
  /** One reply per inbound message: the unique occurrence key of the outbox row. */
  occurrenceKey: string;
}

/**
 * The outbox row of a keyword reply (STOP/START/HELP confirmation): transactional, quiet hours
 * ignored, consent and sending rules 3–5 skipped (it answers the person's own text), due now.
 * Written with `insertMessageStatements`, typically in the same batch as the inbound message.
 */
export async function keywordReplyRow(reply: KeywordReply, nowMs: number = Date.now()): Promise<InsertRow> {
  const analysis = analyzeBody(reply.body);
  const now = iso(nowMs);
  return {
    id: newId("message", nowMs),
    event_id_: newId("messageEvent", nowMs),
    contact_id: reply.contactId,
    program_id: null,
    run_id: null,
    event_id: null,
    occurrence_key: reply.occurrenceKey,
    to: reply.to,
    phone_hash: reply.phoneHash,
    body: reply.body,
    body_hash: await sha256Hex(reply.body),
    encoding: analysis.encoding,
    segments: analysis.segments,
    characters: analysis.characters,
    category: "transactional",
    quiet_hours: "ignore",
    status: "queued",
    status_reason: null,
    error_message: null,
    detail: null,
    scheduled_at: now,
    expires_at: iso(nowMs + REPLY_VALIDITY_MS),
    next_attempt_at: iso(nowMs),
    carrier_id: reply.carrierId,
    carrier_pinned: 1,
    keyword_reply: 1,
    from: null,
    sent_at: null,
    attempts: 0,
  };
}

/**
 * Cancels every pending (`scheduled`/`queued`) message to a phone, with its `canceled` event, as
 * two statements for one `db.batch()` — set-based, so a row written by anyone before the batch
 * runs is caught, however many there are. Rows that left pending meanwhile are left alone.
 */
export function cancelPendingToPhoneStatements(
  d1: D1Database,
  tenantId: string,
  phone: string,
  options: { reason: string; detail: string; at: string; onlyIf: SqlGuard },
): D1PreparedStatement[] {
  const { reason, detail, at, onlyIf } = options;
  return [
    d1
      .prepare(
        `UPDATE messages SET status = 'canceled', status_reason = ?, updated_at = ?
         WHERE tenant_id = ? AND "to" = ? AND status IN ('scheduled', 'queued') AND ${onlyIf.sql}
         RETURNING id`,
      )
      .bind(reason, at, tenantId, phone, ...onlyIf.params),
    // Event ids in Herald's shape: prefix, the time part, 14 random characters (hex is base62).
    d1
      .prepare(
        `INSERT INTO message_events (id, tenant_id, message_id, status, detail, at)
         SELECT 'mev_' || ? || lower(hex(randomblob(7))), m.tenant_id, m.id, 'canceled', ?, ?
         FROM messages m
         WHERE m.tenant_id = ? AND m."to" = ? AND m.status = 'canceled' AND m.updated_at = ?
           AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.status = 'canceled')`,
      )
      .bind(Date.parse(at).toString(36).padStart(9, "0"), detail, at, tenantId, phone, at),
  ];
}
