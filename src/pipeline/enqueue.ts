import type { Env } from "../env";
import type { DispatchJob, WorkJob } from "./jobs";

/** Cloudflare's limit on messages per `sendBatch` call. */
const SEND_BATCH_MAX = 100;

/** Sends `messages` to `queue` in `sendBatch` chunks of ≤ 100, awaited one by one (the one chunking helper). */
export async function sendInChunks<T>(queue: Queue<T>, messages: MessageSendRequest<T>[]): Promise<void> {
  for (let i = 0; i < messages.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(messages.slice(i, i + SEND_BATCH_MAX));
  }
}

/** Rings the dispatch doorbell for these outbox rows (an optional delay for all of them). */
export async function enqueueDispatch(
  env: Pick<Env, "DISPATCH_QUEUE">,
  messageIds: string[],
  delaySeconds?: number,
): Promise<void> {
  await sendInChunks<DispatchJob>(
    env.DISPATCH_QUEUE,
    messageIds.map((messageId) => ({ body: { messageId }, ...(delaySeconds ? { delaySeconds } : {}) })),
  );
}

/** Sends background jobs to the work queue. */
export async function enqueueWork(env: Pick<Env, "WORK_QUEUE">, jobs: WorkJob[]): Promise<void> {
  await sendInChunks<WorkJob>(
    env.WORK_QUEUE,
    jobs.map((body) => ({ body })),
  );
}
