import type { Env } from "../env";

const SEND_BATCH_MAX = 100;

/** Rings the dispatch doorbell for these outbox rows, in `sendBatch` chunks of ≤ 100, awaited one by one. */
export async function enqueueDispatch(
  env: Pick<Env, "DISPATCH_QUEUE">,
  messageIds: string[],
  delaySeconds?: number,
): Promise<void> {
  for (let i = 0; i < messageIds.length; i += SEND_BATCH_MAX) {
    const chunk = messageIds.slice(i, i + SEND_BATCH_MAX);
    await env.DISPATCH_QUEUE.sendBatch(
      chunk.map((messageId) => ({ body: { messageId }, ...(delaySeconds ? { delaySeconds } : {}) })),
    );
  }
}
