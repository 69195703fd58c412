import type { Env } from "../../env";
import { iso } from "../../lib/time";
import {
  type DispatchFinal,
  finalStatements,
  leaseStatement,
  quietHoldStatements,
} from "../../services/messages/dispatch-writes";
import type { Ledger } from "./ledger";
import { BatchWebhooks } from "./notify";
import type { Recheck } from "./recheck";
import type { OutboxRow } from "./types";

/** How long a message held by a paused program waits before it is looked at again. */
const PAUSED_HOLD_MS = 60_000;

/**
 * Step 3: the re-check's finals and holds in one batch, with the webhooks of those transitions:
 * final states, paused programs' rows (still queued, with a lease the sweep honours once the
 * program resumes) and quiet-hours holds. Their messages are done; returns the webhook deliveries
 * written.
 */
export async function writeFinals(
  env: Env,
  ledger: Ledger,
  decided: { row: OutboxRow; check: Recheck }[],
  listening: ReadonlySet<string>,
  now: number,
): Promise<string[]> {
  const at = iso(now);
  const finals: { tenantId: string; messageId: string; final: DispatchFinal }[] = [];
  const paused: string[] = [];
  const quiet: Parameters<typeof quietHoldStatements>[1] = [];
  const hooks = new BatchWebhooks(listening);
  for (const { row, check } of decided) {
    if (check.kind === "final") {
      finals.push({ tenantId: row.tenant_id, messageId: row.id, final: check.final });
      if (check.final.to === "failed") hooks.add(row.tenant_id, "message.failed", row.id);
    } else if (check.kind === "paused") paused.push(row.id);
    else if (check.kind === "quiet")
      quiet.push({
        tenantId: row.tenant_id,
        messageId: row.id,
        scheduledAt: row.scheduled_at,
        expiresAt: row.expires_at,
        until: check.until,
      });
  }
  const stmts = [
    ...finalStatements(env.DB, finals, at),
    ...(paused.length > 0 ? [leaseStatement(env.DB, paused, iso(now + PAUSED_HOLD_MS))] : []),
    ...quietHoldStatements(env.DB, quiet, at),
  ];
  if (stmts.length === 0) return [];
  hooks.appendTo(env.DB, stmts, at);
  const results = await env.DB.batch(stmts);
  for (const { row, check } of decided) if (check.kind !== "go") ledger.done(row.id);
  return hooks.written(results);
}
