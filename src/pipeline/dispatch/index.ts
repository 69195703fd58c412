import type { Env } from "../../env";
import { durableObjectBuckets } from "../../limits/durable-object";
import type { TokenBuckets } from "../../limits/interface";
import type { DispatchJob } from "../jobs";
import { claim } from "./claim";
import { writeFinals } from "./finals";
import { Ledger, settle, settleAfterOutage } from "./ledger";
import { load } from "./load";
import { notify } from "./notify";
import { pace } from "./pace";
import { recheck } from "./recheck";
import { record } from "./record";
import { route } from "./route";
import { send } from "./send";

/**
 * Dispatch queue consumer (ARCHITECTURE.md, "The send path, step by step"). Every step reports what
 * became of each message id to the ledger; only `settle` acks, retries or sends again. An outage of
 * D1, the rate limiter or the queue is not an attempt: what no step decided yet is given back with
 * a lease and a delay, so the batch never throws into the queue's redelivery and `max_retries`.
 */
export async function handleDispatchBatch(
  batch: MessageBatch<DispatchJob>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const ledger = new Ledger(batch.messages);
  try {
    await dispatch(env, ledger, durableObjectBuckets(env), Date.now());
    await settle(env, ledger); // 10. settle: the only acks, retries and re-sends
  } catch (err) {
    await settleAfterOutage(env, ledger, Date.now(), err);
  }
}

async function dispatch(env: Env, ledger: Ledger, buckets: TokenBuckets, now: number): Promise<void> {
  // 1. load: the rows still queued and everything their decisions need, in one read
  const batch = await load(env, ledger, ledger.ids());
  if (!batch) return;
  // 2. re-check: the sending rules again, pure, one decision per row
  const decided = batch.rows.map((row) => ({ row, check: recheck(row, batch, now) }));
  // 3. write finals and holds (one batch), and 9. notify their webhooks
  await notify(env, await writeFinals(env, ledger, decided, batch.listening, now));
  // 4. route: the carrier the re-check chose, ready to call
  const candidates = await route(env, decided);
  if (candidates.length === 0) return;
  // 5. pace: tokens for the batch, in rounds; each round's granted messages go through 6–9
  await pace(env, ledger, buckets, batch, candidates, now, async (granted, at) => {
    const claimed = await claim(env, ledger, granted, batch.sticky, at); // 6. claim
    const sent = await send(claimed, at); // 7. send
    const written = await record(env, ledger, sent, batch.listening, at); // 8. record
    await notify(env, written); // 9. notify
  });
}
