import { adapters } from "../../carriers/registry";
import type { CarrierAdapter, SendRequest, SendResult } from "../../carriers/types";
import { validitySecondsLeft } from "../../domain/rules/validity";
import { statusCallbackUrlFor } from "../../services/carriers/urls";
import type { Claimed, Sent } from "./types";

/** Messages handed to one `sendMany` call at most (Sinch: 1,000 recipients per batch). */
export const SEND_MANY_MAX = 1000;

/**
 * Step 7: the carrier calls, all at once. Claimed rows are grouped by carrier; a carrier whose
 * adapter sends many messages in one request (`sendMany`) gets its group in chunks of at most
 * SEND_MANY_MAX, the others one request per message. Every row gets its own result, a partially
 * refused batch included. Tokens were taken per message before the claim, so a batch costs the
 * segments of its messages. A call that throws is recorded as a retryable outcome the carrier may
 * have accepted: nobody can tell whether the request left, so it is never resent blindly.
 */
export async function send(claimed: Claimed[], now: number): Promise<Sent[]> {
  const groups = new Map<string, number[]>();
  claimed.forEach(({ cand }, i) => {
    const key = cand.carrier.id ?? "";
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const results: SendResult[] = new Array(claimed.length);
  await Promise.all(
    [...groups.values()].map(async (idx) => {
      const first = claimed[idx[0] as number] as Claimed;
      const adapter = adapters[first.cand.carrier.provider];
      const chunks: number[][] = [];
      if (adapter.sendMany) {
        for (let i = 0; i < idx.length; i += SEND_MANY_MAX) chunks.push(idx.slice(i, i + SEND_MANY_MAX));
      } else {
        for (const i of idx) chunks.push([i]);
      }
      await Promise.all(
        chunks.map(async (chunk) => {
          const out = await call(
            adapter,
            chunk.map((i) => claimed[i] as Claimed),
            now,
          );
          chunk.forEach((i, k) => {
            results[i] = out[k] as SendResult;
          });
        }),
      );
    }),
  );
  return claimed.map((c, i) => ({ ...c, result: results[i] as SendResult }));
}

/** The adapter's request for one claimed row. */
function request({ cand, from }: Claimed, now: number): SendRequest {
  const { row, carrier, callback } = cand;
  const validitySeconds = validitySecondsLeft(row.expires_at, now);
  const target = callback ? { ...callback, callbackToken: carrier.callbackToken ?? null } : null;
  return {
    messageId: row.id,
    to: row.to,
    ...(from ? { from } : {}),
    ...(carrier.messagingServiceSid ? { messagingServiceSid: carrier.messagingServiceSid } : {}),
    body: row.body,
    ...(validitySeconds !== undefined ? { validitySeconds } : {}),
    statusCallbackUrl: statusCallbackUrlFor(target, row.id),
  };
}

/** One carrier request for these rows (all of one carrier): `sendMany` for several, `send` for one. */
async function call(adapter: CarrierAdapter, rows: Claimed[], now: number): Promise<SendResult[]> {
  const first = rows[0] as Claimed;
  const config = first.cand.carrier;
  const reqs = rows.map((r) => request(r, now));
  try {
    if (reqs.length === 1 || !adapter.sendMany) {
      return [await adapter.send(config, reqs[0] as SendRequest)];
    }
    const out = await adapter.sendMany(config, reqs);
    if (out.length !== reqs.length)
      throw new Error(`sendMany answered ${out.length} of ${reqs.length} results`);
    return out;
  } catch (err) {
    const result: SendResult = {
      outcome: "retryable",
      errorCode: "send_error",
      errorMessage: err instanceof Error ? err.message : String(err),
      maybeAccepted: true,
    };
    return reqs.map(() => result);
  }
}
