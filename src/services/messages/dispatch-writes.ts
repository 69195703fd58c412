import { IN_JSON_LIST } from "../../db/json-list";
import { MAX_SEND_ATTEMPTS } from "../../domain/backoff";
import { movedDeadline } from "../../domain/rules/validity";
import { iso } from "../../lib/time";
import { type BulkRow, bulkTransitionStatements, type MessageStatus } from "./status";

/**
 * The dispatcher's writes to the outbox, as statements its steps put in their one `db.batch()`.
 * Every statement is conditional on the state it leaves, so a batch written twice (a lost answer)
 * changes nothing the second time.
 */

/** A final state dispatch gives a queued row before any carrier call. */
export type DispatchFinal =
  | { to: "expired"; reason: "validity_ended" }
  | { to: "canceled"; reason: "program_archived" }
  | { to: "suppressed"; reason: "exited" | "opted_out" | "no_consent" }
  | { to: "failed"; reason: "carrier_deleted" };

const FINAL_ERRORS: Partial<Record<DispatchFinal["reason"], { code: string; message: string }>> = {
  carrier_deleted: { code: "carrier_deleted", message: "The pinned carrier was deleted" },
};

/** Queued rows to their final state: two statements per kind of final, whatever the number of rows. */
export function finalStatements(
  d1: D1Database,
  rows: { tenantId: string; messageId: string; final: DispatchFinal }[],
  at: string,
): D1PreparedStatement[] {
  const byReason = new Map<DispatchFinal["reason"], { to: MessageStatus; rows: BulkRow[] }>();
  for (const r of rows) {
    const group = byReason.get(r.final.reason) ?? { to: r.final.to, rows: [] };
    group.rows.push({ tenantId: r.tenantId, messageId: r.messageId });
    byReason.set(r.final.reason, group);
  }
  return [...byReason].flatMap(([reason, g]) => {
    const error = FINAL_ERRORS[reason];
    return bulkTransitionStatements(d1, {
      to: g.to,
      from: ["queued"],
      at,
      set: {
        status_reason: reason,
        ...(error ? { error_code: error.code, error_message: error.message } : {}),
      },
      rows: g.rows,
    });
  });
}

/** Moves the lease of queued rows to `leaseAt` (one time for all); returns the ids it moved. */
export function leaseStatement(d1: D1Database, ids: string[], leaseAt: string): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE messages SET next_attempt_at = ? WHERE status = 'queued' AND id IN ${IN_JSON_LIST} RETURNING id`,
    )
    .bind(leaseAt, JSON.stringify(ids));
}

/** Moves the lease of each queued row to its own time. */
export function leasesStatement(d1: D1Database, leases: { id: string; at: string }[]): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE messages SET next_attempt_at = (SELECT json_extract(j.value, '$[1]') FROM json_each(?1) j
                                              WHERE json_extract(j.value, '$[0]') = messages.id)
        WHERE status = 'queued' AND id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))`,
    )
    .bind(JSON.stringify(leases.map((l) => [l.id, l.at])));
}

/**
 * Dead-lettered rows that were tried fewer than MAX_SEND_ATTEMPTS times: their lease runs out now,
 * so the sweep rings again once the grace has passed (waiting is not an attempt).
 */
export function releaseUntriedStatement(d1: D1Database, ids: string[], at: string): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE messages SET next_attempt_at = ?1
        WHERE status = 'queued' AND attempts < ?2 AND id IN (SELECT value FROM json_each(?3))`,
    )
    .bind(at, MAX_SEND_ATTEMPTS, JSON.stringify(ids));
}

/** What a quiet-hours hold needs of a row. */
export interface QuietHeld {
  tenantId: string;
  messageId: string;
  scheduledAt: string | null;
  expiresAt: string | null;
  until: number;
}

/**
 * Held rows from `queued` back to `scheduled` for their first allowed minute; the validity they had
 * counts again from that minute. The sweep releases them when the minute comes.
 */
export function quietHoldStatements(d1: D1Database, held: QuietHeld[], at: string): D1PreparedStatement[] {
  return bulkTransitionStatements(d1, {
    to: "scheduled",
    from: ["queued"],
    at,
    set: { next_attempt_at: null, status_reason: null },
    rows: held.map((h) => ({
      tenantId: h.tenantId,
      messageId: h.messageId,
      set: { scheduled_at: iso(h.until), expires_at: movedDeadline(h.expiresAt, h.scheduledAt, h.until) },
      detail: `quiet hours until ${iso(h.until)}`,
    })),
  });
}

/** A carrier call's outcome as the outbox keeps it (see `pipeline/dispatch/outcome.ts`). */
export type OutcomeWrite =
  | { kind: "sent"; carrierMessageId: string }
  | { kind: "delivered"; carrierMessageId: string }
  | { kind: "failed"; errorCode: string; errorMessage: string }
  | { kind: "unknown"; errorCode: string; errorMessage: string }
  | { kind: "exhausted"; attempts: number; errorCode: string; errorMessage: string }
  | { kind: "retry"; delaySeconds: number; errorCode: string; errorMessage: string };

export interface OutcomeRow {
  tenantId: string;
  messageId: string;
  /** The carrier called (null: the implicit sandbox) and the pool number it was called with. */
  carrierId: string | null;
  from: string | null;
  outcome: OutcomeWrite;
}

/**
 * The statements of a batch of carrier outcomes, claimed rows (`sending`) to where each outcome
 * leaves them: per-row statements for failures and retries, then two statements for all accepted
 * sends (and two for the sandbox's immediate deliveries).
 */
export function outcomeStatements(d1: D1Database, rows: OutcomeRow[], now: number): D1PreparedStatement[] {
  const at = iso(now);
  const stmts: D1PreparedStatement[] = [];
  const accepted: BulkRow[] = [];
  const delivered: BulkRow[] = [];
  for (const r of rows) {
    const o = r.outcome;
    const base = { tenantId: r.tenantId, messageId: r.messageId };
    if (o.kind === "sent" || o.kind === "delivered") {
      accepted.push({
        ...base,
        set: { carrier_message_id: o.carrierMessageId, from: r.from, carrier_id: r.carrierId },
      });
      if (o.kind === "delivered") delivered.push(base);
      continue;
    }
    const error = { error_code: o.errorCode, error_message: o.errorMessage };
    if (o.kind === "failed" || o.kind === "exhausted") {
      const failed = o.kind === "failed";
      stmts.push(
        ...bulkTransitionStatements(d1, {
          to: "failed",
          from: ["sending"],
          at,
          set: {
            status_reason: o.errorCode,
            ...error,
            ...(failed ? { carrier_id: r.carrierId, from: r.from } : {}),
          },
          rows: [
            {
              ...base,
              detail: failed
                ? o.errorMessage
                : `retries exhausted after ${o.attempts} attempts: ${o.errorMessage}`,
            },
          ],
        }),
      );
    } else if (o.kind === "unknown") {
      // The carrier may have the message: it stays `sending` until its callback (our id is in the
      // callback URL) or the end of its validity (the sweep then marks it failed / unknown_outcome).
      stmts.push(
        d1
          .prepare(
            "UPDATE messages SET error_code = ?, error_message = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
          )
          .bind(o.errorCode, o.errorMessage, at, r.messageId),
      );
    } else {
      stmts.push(
        ...bulkTransitionStatements(d1, {
          to: "queued",
          from: ["sending"],
          at,
          set: { next_attempt_at: iso(now + o.delaySeconds * 1000), ...error },
          rows: [
            {
              ...base,
              detail: `retry in ${o.delaySeconds} s after ${o.errorCode}${r.carrierId ? ` from ${r.carrierId}` : ""}`,
            },
          ],
        }),
      );
    }
  }
  stmts.push(
    ...bulkTransitionStatements(d1, {
      to: "sent",
      from: ["sending"],
      at,
      set: { sent_at: at, error_code: null, error_message: null, status_reason: null },
      rows: accepted,
    }),
    ...bulkTransitionStatements(d1, {
      to: "delivered",
      from: ["sent"],
      at,
      set: { delivered_at: at },
      rows: delivered,
    }),
  );
  return stmts;
}
