import { MAX_QUEUE_DELAY_SECONDS } from "../../domain/backoff";
import { quietUntil } from "../../domain/rules/quiet-hours";
import type { Env } from "../../env";
import { iso } from "../../lib/time";
import type { TokenBuckets } from "../../limits/interface";
import { leasesStatement, quietHoldStatements } from "../../services/messages/dispatch-writes";
import type { Ledger } from "./ledger";
import { quietRecipient } from "./recheck";
import { type Candidate, DEFAULT_TENANT_MPS, type LoadedBatch } from "./types";

/** Waiting for tokens inside one invocation: only for gaps this short, and this long in total. */
const PACE_STEP_MAX_MS = 1_000;
const PACE_BUDGET_MS = 5_000;

export interface Waiting {
  cand: Candidate;
  delayMs: number;
}

/**
 * Step 5: pays for the candidates in rounds and hands each round's granted ones to `go` (steps
 * 6–9). Pacing stays inside the invocation while the next tokens are less than a second away: a
 * bucket holds only one second of burst, so tokens that accrue while nobody asks are lost, and the
 * queue's delays (whole seconds, plus batching) cannot come back often enough to use them all.
 * After a wait, quiet hours are asked again (rule 5); what still waits past the budget is deferred.
 */
export async function pace(
  env: Env,
  ledger: Ledger,
  buckets: TokenBuckets,
  batch: LoadedBatch,
  candidates: Candidate[],
  start: number,
  go: (granted: Candidate[], at: number) => Promise<void>,
): Promise<void> {
  let pending = candidates;
  let at = start;
  for (let round = 0; ; round++) {
    // The re-check (step 2) asked quiet hours at `start` already.
    if (round > 0) pending = await holdQuiet(env, ledger, pending, batch, at);
    if (pending.length === 0) return;
    const { granted, waiting } = await takeTokens(buckets, pending, batch.tenantMps, at);
    if (granted.length > 0) await go(granted, at);
    if (waiting.length === 0) return;
    const nextMs = Math.min(...waiting.map((w) => w.delayMs));
    const elapsed = Date.now() - start;
    if (nextMs > PACE_STEP_MAX_MS || elapsed + nextMs > PACE_BUDGET_MS) {
      await deferForTokens(env, ledger, waiting, Date.now());
      return;
    }
    await new Promise((r) => setTimeout(r, Math.max(1, nextMs)));
    at = Date.now();
    pending = waiting.map((w) => w.cand);
  }
}

/** A line of candidates paying one bucket: its name, its rate, and who stands in it in order. */
interface BucketLine {
  name: string;
  rate: number;
  cands: Candidate[];
}

/**
 * Pays for the batch: one `take` per carrier pool (segments) and one per tenant, all at once. A
 * message goes when both of its buckets granted it; tokens one bucket granted to a message the
 * other refused go back to it. A message that got no tokens waits, spread by its place in the line
 * it was refused from, so waiting messages don't all come back at once.
 */
export async function takeTokens(
  buckets: TokenBuckets,
  candidates: Candidate[],
  tenantMps: Map<string, number>,
  now: number,
): Promise<{ granted: Candidate[]; waiting: Waiting[] }> {
  const lines = new Map<string, BucketLine>();
  const join = (name: string, rate: number, c: Candidate) => {
    const line = lines.get(name) ?? { name, rate, cands: [] };
    line.cands.push(c);
    lines.set(name, line);
  };
  for (const c of candidates) {
    const rate = c.carrier.mps;
    if (c.carrier.id !== null && rate !== null && rate !== undefined && rate > 0)
      join(`carrier:${c.carrier.id}`, rate, c);
    join(`tenant:${c.row.tenant_id}`, tenantMps.get(c.row.tenant_id) ?? DEFAULT_TENANT_MPS, c);
  }
  const refusedAfter = new Map<Candidate, number>();
  const grantedBy = new Map<Candidate, BucketLine[]>();
  await Promise.all(
    [...lines.values()].map(async (line) => {
      const grant = await buckets.take(
        line.name,
        line.rate,
        line.cands.map((c) => c.cost),
        now,
      );
      let ahead = 0;
      for (const [i, c] of line.cands.entries()) {
        if (i < grant.count) {
          grantedBy.set(c, [...(grantedBy.get(c) ?? []), line]);
          continue;
        }
        const delayMs = grant.retryAfterMs + (ahead * 1000) / line.rate;
        refusedAfter.set(c, Math.max(refusedAfter.get(c) ?? 0, delayMs));
        ahead += c.cost;
      }
    }),
  );
  const granted: Candidate[] = [];
  const waiting: Waiting[] = [];
  const refunds = new Map<BucketLine, number>();
  for (const c of candidates) {
    const delayMs = refusedAfter.get(c);
    if (delayMs === undefined) {
      granted.push(c);
      continue;
    }
    waiting.push({ cand: c, delayMs });
    for (const line of grantedBy.get(c) ?? []) refunds.set(line, (refunds.get(line) ?? 0) + c.cost);
  }
  await Promise.all([...refunds].map(([line, n]) => buckets.refund(line.name, line.rate, n, now)));
  return { granted, waiting };
}

/** Rule 5 after a wait for tokens: candidates now inside quiet hours go back to `scheduled`. */
async function holdQuiet(
  env: Env,
  ledger: Ledger,
  cands: Candidate[],
  batch: LoadedBatch,
  at: number,
): Promise<Candidate[]> {
  const go: Candidate[] = [];
  const held: Parameters<typeof quietHoldStatements>[1] = [];
  for (const c of cands) {
    const until = quietUntil(quietRecipient(c.row), batch.tenantQuiet.get(c.row.tenant_id), at);
    if (until === null) go.push(c);
    else
      held.push({
        tenantId: c.row.tenant_id,
        messageId: c.row.id,
        scheduledAt: c.row.scheduled_at,
        expiresAt: c.row.expires_at,
        until,
      });
  }
  if (held.length === 0) return go;
  await env.DB.batch(quietHoldStatements(env.DB, held, iso(at)));
  for (const h of held) ledger.done(h.messageId);
  return go;
}

/**
 * Queue delay for a message waiting for tokens: rounded down, so it is back a little early and
 * waits for its tokens by pacing rather than arriving after they were already lost to the cap.
 */
const clampDelay = (ms: number): number =>
  Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(1, Math.floor(ms / 1000)));

/**
 * Waiting for tokens is not an attempt: the lease moves to when tokens should be there and the
 * ledger sends the id again with that delay (a `retry()` would count toward the queue's
 * max_retries and push a merely rate-limited message into the dead-letter queue).
 */
async function deferForTokens(env: Env, ledger: Ledger, waiting: Waiting[], now: number): Promise<void> {
  const planned = waiting.map((w) => ({ id: w.cand.row.id, delaySeconds: clampDelay(w.delayMs) }));
  await leasesStatement(
    env.DB,
    planned.map((p) => ({ id: p.id, at: iso(now + p.delaySeconds * 1000) })),
  ).run();
  for (const p of planned) ledger.later(p.id, p.delaySeconds);
}
