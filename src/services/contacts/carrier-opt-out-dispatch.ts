import { both } from "../../db/guard";
import type { Env } from "../../env";
import { serviceContext } from "../context";
import { carrierOptOutWebhookStatement } from "../webhooks/in-batch";
import { consentWouldChange, hashPhone, unsubscribeStatements } from "./consent";

/** A phone a carrier answered "opted out" for, in a send's response. */
export interface CarrierOptOut {
  tenantId: string;
  phone: string;
  /** The carrier's error message, kept in the consent record. */
  detail: string;
}

/**
 * The carrier says these people opted out: honoured everywhere, not only on that carrier, in the
 * caller's batch, with the `contact.unsubscribed` webhook written exactly when it changes something
 * (only for tenants in `listening`, `tenant|type` pairs). `webhooks` are the indexes, in
 * `statements`, of the statements whose results are the webhook delivery ids written.
 */
export async function carrierOptOutStatements(
  env: Env,
  optOuts: CarrierOptOut[],
  at: string,
  listening: ReadonlySet<string>,
): Promise<{ statements: D1PreparedStatement[]; webhooks: number[] }> {
  const statements: D1PreparedStatement[] = [];
  const webhooks: number[] = [];
  for (const o of optOuts) {
    const ctx = serviceContext(env, o.tenantId);
    const hash = await hashPhone(ctx, o.phone);
    // The caller's batch may be written again after a lost answer: this `at`'s record then exists.
    const once = {
      sql: "NOT EXISTS (SELECT 1 FROM consent_records WHERE tenant_id = ? AND phone_hash = ? AND source = 'carrier' AND at = ?)",
      params: [o.tenantId, hash, at],
    };
    if (listening.has(`${o.tenantId}|contact.unsubscribed`)) {
      webhooks.push(statements.length);
      statements.push(
        carrierOptOutWebhookStatement(
          env.DB,
          o.tenantId,
          o.phone,
          at,
          both(once, consentWouldChange(ctx, o.phone, hash, "unsubscribed")),
        ),
      );
    }
    statements.push(
      ...unsubscribeStatements(ctx, o.phone, hash, { source: "carrier", text: o.detail, at }, once),
    );
  }
  return { statements, webhooks };
}
