import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { carrierOptOutStatements } from "../../services/contacts/carrier-opt-out";
import { serviceContext } from "../../services/context";
import { type OutcomeRow, outcomeStatements } from "../../services/messages/dispatch-writes";
import { writtenDeliveries } from "../../services/webhooks/in-batch";
import type { Ledger } from "./ledger";
import { BatchWebhooks } from "./notify";
import { classifyOutcome } from "./outcome";
import type { Sent } from "./types";

/**
 * Step 8: writes every carrier outcome with its status event, its webhooks and the opt-outs the
 * carrier reported in one batch, then reports each message to the ledger (retried, or done).
 * Returns the webhook deliveries written.
 */
export async function record(
  env: Env,
  ledger: Ledger,
  sent: Sent[],
  listening: ReadonlySet<string>,
  now: number,
): Promise<string[]> {
  const at = iso(now);
  const hooks = new BatchWebhooks(listening);
  const rows: OutcomeRow[] = [];
  const optOuts: { tenantId: string; phone: string; text: string }[] = [];
  for (const { cand, from, result } of sent) {
    const { row, carrier } = cand;
    const outcome = classifyOutcome(result, row.attempts + 1);
    rows.push({ tenantId: row.tenant_id, messageId: row.id, carrierId: carrier.id, from, outcome });
    if (outcome.kind === "sent" || outcome.kind === "delivered")
      hooks.add(row.tenant_id, "message.sent", row.id);
    if (outcome.kind === "delivered") hooks.add(row.tenant_id, "message.delivered", row.id);
    if (outcome.kind === "failed" || outcome.kind === "exhausted")
      hooks.add(row.tenant_id, "message.failed", row.id);
    if (outcome.kind === "failed" && outcome.optedOut)
      optOuts.push({ tenantId: row.tenant_id, phone: row.to, text: outcome.errorMessage });
  }
  const stmts = outcomeStatements(env.DB, rows, now);
  // The carrier says these people opted out: honoured on every carrier, in this batch. It may be
  // written again after a lost answer (`once`): nothing is recorded twice.
  const optOutHooks: number[] = [];
  for (const o of optOuts) {
    const optOut = await carrierOptOutStatements(
      serviceContext(env, o.tenantId),
      { phone: o.phone, text: o.text, at },
      { once: true, webhook: listening.has(`${o.tenantId}|contact.unsubscribed`), offset: stmts.length },
    );
    optOutHooks.push(...optOut.webhookIndexes);
    stmts.push(...optOut.statements);
  }
  hooks.appendTo(env.DB, stmts, at);
  // The carrier was called: its outcomes must be kept through a lost answer or a D1 blip. Every
  // statement is conditional on the state it leaves, so writing the batch again changes nothing twice.
  const results = stmts.length > 0 ? await idempotentWrite(() => env.DB.batch(stmts)) : [];
  for (const r of rows) {
    if (r.outcome.kind === "retry") ledger.retry(r.messageId, r.outcome.delaySeconds);
    else ledger.done(r.messageId);
  }
  return [...hooks.written(results), ...writtenDeliveries(results, optOutHooks)];
}

/** Runs a D1 write whose statements are idempotent again when it throws (a lost answer or a blip), up to `tries` times. */
async function idempotentWrite<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 50 * i));
    }
  }
}
