/**
 * A carrier said the recipient opted out (Twilio 21610, Telnyx 40300, Vonage "number barred"):
 * Herald honours it as a STOP from that phone, on every carrier. One builder for both places that
 * learn it — a carrier callback (`carriers/apply-status.ts`) and a carrier's answer at dispatch —
 * so the opt-out is written one way: the `contact.unsubscribed` delivery first, guarded by
 * `consentWouldChange` (written exactly when the opt-out changes something), then the unsubscribe
 * statements of `consent.ts`, all in the caller's batch.
 */
import { ALWAYS, both, type SqlGuard } from "../../db/guard";
import type { ServiceContext } from "../context";
import { carrierOptOutWebhookStatement } from "../webhooks/in-batch";
import { consentWouldChange, hashPhone, unsubscribeStatements } from "./consent";

export interface CarrierOptOut {
  /** E.164 phone the carrier reported. */
  phone: string;
  /** The carrier's words, kept verbatim in the consent record. */
  text: string;
  /** When the carrier reported it (ISO). */
  at: string;
}

export interface CarrierOptOutOptions {
  /** Write the `contact.unsubscribed` deliveries (default true; false when no endpoint listens). */
  webhook?: boolean;
  /**
   * For a batch that may be written again (dispatch's idempotent write): nothing is recorded a
   * second time once the consent record of this phone, source `carrier` and `at` exists.
   */
  once?: boolean;
  /** Index in the caller's batch of the first statement returned (default 0): `webhookIndexes` count from the batch. */
  offset?: number;
}

export interface CarrierOptOutStatements {
  statements: D1PreparedStatement[];
  /** Batch indexes of the statements that return delivery ids (for `writtenDeliveries` and the doorbell). */
  webhookIndexes: number[];
}

/** The statements of a carrier-reported opt-out, for the caller's `db.batch()`. */
export async function carrierOptOutStatements(
  ctx: ServiceContext,
  optOut: CarrierOptOut,
  options: CarrierOptOutOptions = {},
): Promise<CarrierOptOutStatements> {
  const { phone, text, at } = optOut;
  const hash = await hashPhone(ctx, phone);
  const once: SqlGuard = options.once
    ? {
        sql: "NOT EXISTS (SELECT 1 FROM consent_records WHERE tenant_id = ? AND phone_hash = ? AND source = 'carrier' AND at = ?)",
        params: [ctx.tenantId, hash, at],
      }
    : ALWAYS;
  const statements: D1PreparedStatement[] = [];
  const webhookIndexes: number[] = [];
  if (options.webhook ?? true) {
    webhookIndexes.push((options.offset ?? 0) + statements.length);
    const changes = consentWouldChange(ctx, phone, hash, "unsubscribed");
    statements.push(
      carrierOptOutWebhookStatement(
        ctx.env.DB,
        ctx.tenantId,
        phone,
        at,
        options.once ? both(once, changes) : changes,
      ),
    );
  }
  statements.push(...unsubscribeStatements(ctx, phone, hash, { source: "carrier", text, at }, once));
  return { statements, webhookIndexes };
}
