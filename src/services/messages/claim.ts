import { IN_JSON_LIST } from "../../db/json-list";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { bulkTransitionStatements } from "./status";

/**
 * Rule 1 in the claim itself: the row's phone is opted out now (its contact unsubscribed, or its
 * hash is on the tenant's suppression list), so a STOP that landed after the batch was loaded still
 * wins over the carrier call. Keyword replies (the STOP confirmation) are exempt, as at creation.
 */
const OPTED_OUT_NOW = `messages.keyword_reply = 0 AND (
    EXISTS (SELECT 1 FROM suppressions s WHERE s.tenant_id = messages.tenant_id AND s.phone_hash = messages.phone_hash)
    OR EXISTS (SELECT 1 FROM contacts c WHERE c.id = messages.contact_id AND c.tenant_id = messages.tenant_id AND c.subscribed = 0))`;

export interface ClaimRow {
  tenantId: string;
  messageId: string;
  /** The carrier about to be called (null: the implicit sandbox). */
  carrierId: string | null;
  /** Carriers tried before this attempt. */
  tried: string[];
}

/**
 * The claim (queued → sending, attempts + 1), refused in the same statement to a phone opted out
 * meanwhile, and the statements that end such a refused row `suppressed / opted_out`. The claim
 * UPDATE comes first (its RETURNING lists the claimed ids). Each claimed row's status event is its
 * receipt (`receipts`): when the batch's answer is lost, they tell whether it committed.
 */
export function claimStatements(
  d1: D1Database,
  rows: ClaimRow[],
  at: string,
): { statements: D1PreparedStatement[]; receipts: string[] } {
  const receipts = rows.map(() => newId("messageEvent"));
  const statements = [
    ...bulkTransitionStatements(d1, {
      to: "sending",
      from: ["queued"],
      at,
      incrementAttempts: true,
      where: `NOT (${OPTED_OUT_NOW})`,
      rows: rows.map((r, i) => ({
        tenantId: r.tenantId,
        messageId: r.messageId,
        eventId: receipts[i],
        set: {
          carrier_id: r.carrierId,
          tried_carrier_ids: JSON.stringify(r.carrierId === null ? r.tried : [...r.tried, r.carrierId]),
        },
        detail: r.carrierId === null ? "sandbox" : `carrier ${r.carrierId}`,
      })),
    }),
    ...bulkTransitionStatements(d1, {
      to: "suppressed",
      from: ["queued"],
      at,
      set: { status_reason: "opted_out" },
      where: OPTED_OUT_NOW,
      rows: rows.map((r) => ({
        tenantId: r.tenantId,
        messageId: r.messageId,
        detail: "opted out before the carrier call",
      })),
    }),
  ];
  return { statements, receipts };
}

/** Message ids whose claim receipt exists: the claim batch that wrote them committed. */
export async function claimedByReceipt(env: Pick<Env, "DB">, receipts: string[]): Promise<Set<string>> {
  const { results } = await env.DB.prepare(
    `SELECT message_id FROM message_events WHERE id IN ${IN_JSON_LIST} AND status = 'sending'`,
  )
    .bind(JSON.stringify(receipts))
    .all<{ message_id: string }>();
  return new Set(results.map((r) => r.message_id));
}

/** A pool number remembered for a phone (sticky sender). */
export interface StickySender {
  carrierId: string;
  phone: string;
  from: string;
}

/** Remembers new sticky senders; written in the claim's batch, so a number is kept exactly when it is used. */
export function stickySenderStatement(d1: D1Database, senders: StickySender[]): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO sticky_senders (carrier_id, phone, from_number)
       SELECT json_extract(value, '$.c'), json_extract(value, '$.p'), json_extract(value, '$.f') FROM json_each(?) WHERE true
       ON CONFLICT (carrier_id, phone) DO UPDATE SET from_number = excluded.from_number`,
    )
    .bind(JSON.stringify(senders.map((s) => ({ c: s.carrierId, p: s.phone, f: s.from }))));
}
