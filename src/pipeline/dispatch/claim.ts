import type { Env } from "../../env";
import { iso } from "../../lib/time";
import { pickFromPool } from "../../services/carriers/sticky";
import {
  claimedByReceipt,
  claimStatements,
  type StickySender,
  stickySenderStatement,
} from "../../services/messages/claim";
import { movedIds } from "../../services/messages/status";
import type { Ledger } from "./ledger";
import type { Candidate, Claimed } from "./types";

/**
 * Step 6: claims the granted rows (queued → sending, attempts + 1) in one batch together with their
 * sticky senders; only the rows the claim moved get a carrier call, the others are done. The claim
 * refuses a phone opted out meanwhile (that row ends `suppressed / opted_out`). When the batch's
 * answer is lost, its receipts say whether it committed (the claimed rows are ours to send) or not
 * (the error goes up and the rows, still queued, are given back by the ledger).
 */
export async function claim(
  env: Env,
  ledger: Ledger,
  granted: Candidate[],
  sticky: Map<string, string>,
  now: number,
): Promise<Claimed[]> {
  const { statements, receipts } = claimStatements(
    env.DB,
    granted.map((c) => ({
      tenantId: c.row.tenant_id,
      messageId: c.row.id,
      carrierId: c.carrier.id,
      tried: c.tried,
    })),
    iso(now),
  );
  const { senders, remember } = chooseSenders(granted, sticky);
  if (remember.length > 0) statements.push(stickySenderStatement(env.DB, remember));
  let moved: Set<string>;
  try {
    moved = movedIds((await env.DB.batch(statements))[0]);
  } catch (err) {
    moved = await claimedByReceipt(env, receipts);
    // No receipt: the claim did not commit, and the rows are still queued for whoever handles the error.
    if (moved.size === 0) throw err;
  }
  const claimed: Claimed[] = [];
  for (const c of granted) {
    if (moved.has(c.row.id)) claimed.push({ cand: c, from: senders.get(c) ?? null });
    else ledger.done(c.row.id);
  }
  return claimed;
}

/**
 * Sticky sender: the remembered pool number while it is still in the pool, else a new pick, to be
 * remembered in the same batch as the claim.
 */
function chooseSenders(
  granted: Candidate[],
  sticky: Map<string, string>,
): { senders: Map<Candidate, string | null>; remember: StickySender[] } {
  const senders = new Map<Candidate, string | null>();
  const remember = new Map<string, StickySender>();
  for (const c of granted) {
    const pool = c.carrier.fromNumbers ?? [];
    if (c.carrier.id === null || pool.length === 0) {
      senders.set(c, null);
      continue;
    }
    const remembered = sticky.get(`${c.carrier.id}|${c.row.to}`);
    const from = remembered && pool.includes(remembered) ? remembered : pickFromPool(pool, c.row.to);
    senders.set(c, from);
    if (from && from !== remembered)
      remember.set(`${c.carrier.id}|${c.row.to}`, { carrierId: c.carrier.id, phone: c.row.to, from });
  }
  return { senders, remember: [...remember.values()] };
}
