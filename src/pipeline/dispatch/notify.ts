import type { Env } from "../../env";
import type { WebhookEventType } from "../../services/webhooks/emit";
import { messageWebhookStatement, ringWebhooks, writtenDeliveries } from "../../services/webhooks/in-batch";

type MessageEvent = Extract<WebhookEventType, `message.${string}`>;

/**
 * The `message.*` webhooks of one dispatcher write, collected while its statements are built and
 * appended to the same `db.batch()` (after the transitions, so each payload shows the row as the
 * batch leaves it). With `listening` (`tenant|type` pairs from the batch's load), nothing is added
 * for a tenant nobody listens to — most batches add no statement at all.
 */
export class BatchWebhooks {
  private readonly byType = new Map<MessageEvent, string[]>();
  private indexes: number[] = [];

  constructor(private readonly listening?: ReadonlySet<string>) {}

  add(tenantId: string, type: MessageEvent, messageId: string): void {
    if (this.listening && !this.listening.has(`${tenantId}|${type}`)) return;
    const ids = this.byType.get(type) ?? [];
    ids.push(messageId);
    this.byType.set(type, ids);
  }

  /** Appends one statement per event type to `stmts`; call once, right before the batch runs. */
  appendTo(d1: D1Database, stmts: D1PreparedStatement[], at: string): void {
    for (const [type, ids] of this.byType) {
      this.indexes.push(stmts.length);
      stmts.push(messageWebhookStatement(d1, type, ids, at));
    }
    this.byType.clear();
  }

  /** The delivery ids the appended statements wrote, from the batch's results. */
  written(results: D1Result[]): string[] {
    const ids = writtenDeliveries(results, this.indexes);
    this.indexes = [];
    return ids;
  }
}

/**
 * Step 9: rings the doorbell of the webhook deliveries a step's batch committed. Never throws (a
 * lost ring is recovered by the lease sweep), so it cannot undo the write it reports.
 */
export async function notify(env: Env, deliveryIds: string[]): Promise<void> {
  await ringWebhooks(env, deliveryIds);
}
