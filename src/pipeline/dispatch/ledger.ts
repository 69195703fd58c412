import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { leaseStatement } from "../../services/messages/dispatch-writes";
import { enqueueDispatch, sendInChunks } from "../enqueue";
import type { DispatchJob } from "../jobs";

/** What became of a message id, as a step reports it. */
type Verdict =
  /** Nothing more to do for this id: ack. */
  | { kind: "done" }
  /** A carrier attempt failed and is retried: counts toward the queue's max_retries. */
  | { kind: "retry"; delaySeconds: number }
  /** Waiting (for tokens) is not an attempt: ack and send the id again with a delay. */
  | { kind: "later"; delaySeconds: number };

/** How long an untried message waits after an outage before it is looked at again (plus jitter). */
export const OUTAGE_DELAY_SECONDS = 30;
const OUTAGE_JITTER_SECONDS = 15;

/**
 * The one owner of the batch's queue deliveries. Steps only report what became of a message id;
 * `settle` (the last step) and `settleAfterOutage` are the only places that ack, retry or send a
 * delivery again, so whichever step throws, the deliveries nobody decided on are exactly known.
 */
export class Ledger {
  private readonly byId = new Map<string, Message<DispatchJob>[]>();
  private readonly malformed: Message<DispatchJob>[] = [];
  private readonly verdicts = new Map<string, Verdict>();
  private resent = false;
  private readonly settled = new Set<Message<DispatchJob>>();

  constructor(deliveries: readonly Message<DispatchJob>[]) {
    for (const m of deliveries) {
      const id = m.body?.messageId;
      if (typeof id !== "string") {
        this.malformed.push(m);
        continue;
      }
      const list = this.byId.get(id);
      if (list) list.push(m);
      else this.byId.set(id, [m]);
    }
  }

  /** The distinct message ids of the batch. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  done(id: string): void {
    this.report(id, { kind: "done" });
  }

  retry(id: string, delaySeconds: number): void {
    this.report(id, { kind: "retry", delaySeconds });
  }

  later(id: string, delaySeconds: number): void {
    this.report(id, { kind: "later", delaySeconds });
  }

  /** The first verdict stands: a delivery is settled at most once. */
  private report(id: string, v: Verdict): void {
    if (this.byId.has(id) && !this.verdicts.has(id)) this.verdicts.set(id, v);
  }

  /** Sends the ids waiting for later again, each with its delay (one `sendBatch` per 100). */
  async resendLater(env: Pick<Env, "DISPATCH_QUEUE">): Promise<void> {
    const later = [...this.verdicts].flatMap(([messageId, v]) =>
      v.kind === "later" ? [{ body: { messageId }, delaySeconds: v.delaySeconds }] : [],
    );
    if (later.length > 0) await sendInChunks<DispatchJob>(env.DISPATCH_QUEUE, later);
    this.resent = true;
  }

  /** Acks or retries every delivery with a verdict (a `later` one only once it was sent again). */
  applyVerdicts(): void {
    for (const m of this.malformed) this.ack(m);
    for (const [id, v] of this.verdicts) {
      const msgs = this.byId.get(id) ?? [];
      if (v.kind === "later" && !this.resent) continue;
      if (v.kind === "retry") {
        const [first, ...rest] = msgs;
        if (first) this.retryOne(first, v.delaySeconds);
        for (const m of rest) this.ack(m);
      } else for (const m of msgs) this.ack(m);
    }
  }

  /** Settles deliveries the outage path gave back: acked when their id went back on the queue or their lease moved. */
  giveBack(deliveries: Message<DispatchJob>[], acked: boolean, delaySeconds: number): void {
    for (const m of deliveries) {
      if (acked) this.ack(m);
      else this.retryOne(m, delaySeconds);
    }
  }

  private ack(m: Message<DispatchJob>): void {
    if (this.settled.has(m)) return;
    this.settled.add(m);
    m.ack();
  }

  private retryOne(m: Message<DispatchJob>, delaySeconds: number): void {
    if (this.settled.has(m)) return;
    this.settled.add(m);
    m.retry({ delaySeconds });
  }

  /** Ids with no verdict applied: nobody decided, or their re-send did not go out. */
  undecided(): { ids: string[]; deliveries: Message<DispatchJob>[] } {
    const ids = [...this.byId.keys()].filter((id) => {
      const v = this.verdicts.get(id);
      return v === undefined || (v.kind === "later" && !this.resent);
    });
    return { ids, deliveries: ids.flatMap((id) => this.byId.get(id) ?? []) };
  }
}

/** Step 10: re-sends what waits, then acks and retries as reported. */
export async function settle(env: Env, ledger: Ledger): Promise<void> {
  await ledger.resendLater(env);
  ledger.applyVerdicts();
}

/**
 * An outage of D1, the rate limiter or the queue is not an attempt: the decided deliveries are
 * settled as reported, and the undecided ones are given back — their rows (if still `queued`) get a
 * lease at the end of the delay, their ids go back on the queue with that delay, and the deliveries
 * are acked, so the batch never throws into the queue's immediate redelivery and `max_retries`.
 * When D1 is down the lease cannot move: the re-send carries them (and the sweep re-rings a lost
 * one, rule 9). When the queue is down too, `retry({delaySeconds})` is all that is left; the
 * dead-letter consumer then gives rows that were never tried back to `queued`.
 */
export async function settleAfterOutage(
  env: Env,
  ledger: Ledger,
  now: number,
  cause: unknown,
): Promise<void> {
  ledger.applyVerdicts();
  const { ids, deliveries } = ledger.undecided();
  if (deliveries.length === 0) {
    console.error(JSON.stringify({ level: "error", message: "dispatch step failed", error: String(cause) }));
    return;
  }
  const delaySeconds = OUTAGE_DELAY_SECONDS + Math.floor(Math.random() * OUTAGE_JITTER_SECONDS);
  let leased = false;
  let resent = false;
  try {
    await leaseStatement(env.DB, ids, iso(now + delaySeconds * 1000)).run();
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
  ledger.giveBack(deliveries, resent || leased, delaySeconds);
}
