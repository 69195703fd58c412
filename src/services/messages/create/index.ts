/**
 * Message creation — the one way a message is made (API sends, programs, events, /run). Per chunk
 * of 100 inputs, four steps, each in the file named after it:
 *
 *   1. gather  (`gather.ts`)  every fact the rules need, in one read batch
 *   2. decide  (`decide.ts`)  pure: sending rules 1–5 → a tagged decision per input
 *   3. write   (`write.ts`)   the outbox rows in one write batch, races for occurrence keys resolved
 *   4. ring    (`pipeline/enqueue.ts`) the dispatch doorbell for the `queued` rows, after every chunk
 *
 * Results come back in input order.
 */

import type { TenantRow } from "../../../db/rows";
import { newId } from "../../../lib/ids";
import { iso } from "../../../lib/time";
import { enqueueDispatch } from "../../../pipeline/enqueue";
import type { ServiceContext } from "../../context";
import { getTenant } from "../../tenants/tenants";
import { decideMessages } from "./decide";
import { gatherFacts } from "./gather";
import type { CreatedMessage, NewMessage } from "./types";
import { writeDecisions } from "./write";

// The names other modules know creation by.
export { bodyLimitError, withFooter } from "../../../domain/message-body";
export { type CancelWhere, cancelPendingMessages } from "../cancel";
export type { CreatedMessage, InsertRow, NewMessage } from "./types";
export { insertMessageStatements } from "./write";

/** Rows decided and written per round trip (json_each keeps each statement to a few parameters). */
const CHUNK = 100;

/**
 * Applies sending rules 1–5 (consent, occurrence dedupe, content dedupe, frequency cap, quiet
 * hours), writes the outbox rows, then enqueues the `queued` ones.
 */
export async function createMessages(ctx: ServiceContext, inputs: NewMessage[]): Promise<CreatedMessage[]> {
  if (inputs.length === 0) return [];
  const tenant = await getTenant(ctx);
  const results: CreatedMessage[] = [];
  for (let i = 0; i < inputs.length; i += CHUNK) {
    results.push(...(await createChunk(ctx, tenant, inputs.slice(i, i + CHUNK))));
  }
  // Rows first, doorbell second: a lost enqueue is recovered by the scheduler's lease sweep.
  const queued = results.filter((r) => r.created && r.message.status === "queued");
  await enqueueDispatch(
    ctx.env,
    queued.map((r) => r.message.id),
  );
  return results;
}

async function createChunk(
  ctx: ServiceContext,
  tenant: TenantRow,
  inputs: NewMessage[],
): Promise<CreatedMessage[]> {
  const nowMs = Date.now();
  const facts = await gatherFacts(ctx, tenant, inputs, nowMs);
  const ids = inputs.map(() => ({ id: newId("message", nowMs), eventId: newId("messageEvent", nowMs) }));
  const decisions = decideMessages(inputs, facts, tenant, nowMs, ids);
  return writeDecisions(ctx, decisions, iso(nowMs));
}
