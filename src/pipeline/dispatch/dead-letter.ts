import { IN_JSON_LIST } from "../../db/json-list";
import { MAX_SEND_ATTEMPTS } from "../../domain/backoff";
import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { releaseUntriedStatement } from "../../services/messages/dispatch-writes";
import { transitionStatements } from "../../services/messages/status";
import type { DispatchJob } from "../jobs";
import { BatchWebhooks, notify } from "./notify";

/**
 * Dead-letter consumer: a message whose deliveries ran out is marked `failed` with its last error —
 * only when it really used up its send attempts (`attempts` ≥ MAX_SEND_ATTEMPTS). One tried fewer
 * times (the queue's retries were also spent on outages) goes back to `queued` with a lease the
 * sweep honours (waiting is not an attempt); one still `sending` stays so (the carrier may have it:
 * its callback or the end of its validity decides, rule 9). The `message.failed` webhooks are
 * written in the same batch as the failures. Nothing here is sent again, so every delivery is acked.
 */
export async function handleDispatchDeadLetters(batch: MessageBatch<DispatchJob>, env: Env): Promise<void> {
  const ids = [
    ...new Set(
      batch.messages.map((m) => m.body?.messageId).filter((x): x is string => typeof x === "string"),
    ),
  ];
  if (ids.length > 0) {
    const at = iso(Date.now());
    const { results } = await env.DB.prepare(
      `SELECT id, tenant_id, error_code, attempts FROM messages
        WHERE status = 'queued' AND id IN ${IN_JSON_LIST}`,
    )
      .bind(JSON.stringify(ids))
      .all<{ id: string; tenant_id: string; error_code: string | null; attempts: number }>();
    const exhausted = results.filter((r) => r.attempts >= MAX_SEND_ATTEMPTS);
    const waiting = results.filter((r) => r.attempts < MAX_SEND_ATTEMPTS);
    const stmts = exhausted.flatMap((r) =>
      transitionStatements(env.DB, {
        tenantId: r.tenant_id,
        messageId: r.id,
        to: "failed",
        from: ["queued"],
        at,
        set: {
          status_reason: r.error_code ?? "retries_exhausted",
          error_code: r.error_code ?? "retries_exhausted",
        },
        detail: "dead-lettered: deliveries exhausted",
      }),
    );
    if (waiting.length > 0)
      stmts.push(
        releaseUntriedStatement(
          env.DB,
          waiting.map((r) => r.id),
          at,
        ),
      );
    const hooks = new BatchWebhooks();
    for (const r of exhausted) hooks.add(r.tenant_id, "message.failed", r.id);
    hooks.appendTo(env.DB, stmts, at);
    if (stmts.length > 0) await notify(env, hooks.written(await env.DB.batch(stmts)));
  }
  batch.ackAll();
}
