import type { Env } from "../env";
import { iso } from "../lib/time";
import { enqueueDispatch } from "./enqueue";
import type { DispatchJob } from "./jobs";

/**
 * Outages of the platform under the dispatcher (D1, the rate-limiter Durable Object, the queue).
 * Waiting is not an attempt (PRODUCT.md, Sending rules 6 and 9): a message that could not be tried
 * because a binding threw goes back to `queued` with a lease and a delay, and its delivery is acked
 * and sent again — never `retry()`-ed while another way exists, since retries count toward the
 * queue's `max_retries` and would dead-letter a message that never reached a carrier.
 */

/** How long an untried message waits after an outage before it is looked at again (plus jitter). */
export const OUTAGE_DELAY_SECONDS = 30;
const OUTAGE_JITTER_SECONDS = 15;

/**
 * The batch's deliveries, each settled at most once through this ledger, so that whatever step
 * throws, the handler knows which deliveries no step acked or retried yet.
 */
export interface Ledger {
  messages: Message<DispatchJob>[];
  unsettled(): Message<DispatchJob>[];
}

export function ledger(deliveries: readonly Message<DispatchJob>[]): Ledger {
  const settled = new Set<Message<DispatchJob>>();
  const messages = deliveries.map((m) => {
    const wrapped: Message<DispatchJob> = {
      id: m.id,
      timestamp: m.timestamp,
      body: m.body,
      attempts: m.attempts,
      ack() {
        if (settled.has(wrapped)) return;
        settled.add(wrapped);
        m.ack();
      },
      retry(options?: QueueRetryOptions) {
        if (settled.has(wrapped)) return;
        settled.add(wrapped);
        m.retry(options);
      },
    };
    return wrapped;
  });
  return { messages, unsettled: () => messages.filter((m) => !settled.has(m)) };
}

/**
 * Gives untried deliveries back after an outage: their rows (if still `queued`) get a lease at the
 * end of the delay, their ids go back on the queue with that delay, and the deliveries are acked.
 * When D1 is down the lease cannot move: the re-send carries them (and the sweep re-rings a lost
 * one, rule 9). When the queue is down too, `retry({delaySeconds})` is all that is left; the
 * dead-letter consumer then gives rows that were never tried back to `queued`.
 */
export async function parkUntried(
  env: Env,
  deliveries: Message<DispatchJob>[],
  now: number,
  cause: unknown,
): Promise<void> {
  if (deliveries.length === 0) {
    console.error(JSON.stringify({ level: "error", message: "dispatch step failed", error: String(cause) }));
    return;
  }
  const delaySeconds = OUTAGE_DELAY_SECONDS + Math.floor(Math.random() * OUTAGE_JITTER_SECONDS);
  const ids = [
    ...new Set(deliveries.map((m) => m.body?.messageId).filter((x): x is string => typeof x === "string")),
  ];
  let leased = false;
  let resent = false;
  try {
    await env.DB.prepare(
      `UPDATE messages SET next_attempt_at = ? WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?))`,
    )
      .bind(iso(now + delaySeconds * 1000), JSON.stringify(ids))
      .run();
    leased = true;
  } catch {
    // D1 is down: the re-send below carries the message.
  }
  try {
    await enqueueDispatch(env, ids, delaySeconds);
    resent = true;
  } catch {
    // The queue is down: the moved lease lets the sweep ring again.
  }
  console.error(
    JSON.stringify({
      level: "error",
      message: "dispatch outage: untried messages wait",
      error: String(cause),
      messages: ids.length,
      delay_seconds: delaySeconds,
      leased,
      resent,
    }),
  );
  for (const m of deliveries) {
    if (resent || leased) m.ack();
    else m.retry({ delaySeconds });
  }
}

/** Runs a D1 write whose statements are idempotent again when it throws (a lost answer or a blip), up to `tries` times. */
export async function idempotentWrite<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 50 * i));
    }
  }
}
