import { adapters } from "../../carriers/registry";
import type { SendResult } from "../../carriers/types";
import { validitySecondsLeft } from "../../domain/rules/validity";
import { statusCallbackUrlFor } from "../../services/carriers/urls";
import type { Claimed, Sent } from "./types";

/**
 * Step 7: one carrier call per claimed row, all at once. A call that throws is recorded as a
 * retryable outcome the carrier may have accepted: nobody can tell whether the request left, so it
 * is never resent blindly.
 */
export async function send(claimed: Claimed[], now: number): Promise<Sent[]> {
  return Promise.all(
    claimed.map(async ({ cand, from }): Promise<Sent> => {
      const { row, carrier, callback } = cand;
      const validitySeconds = validitySecondsLeft(row.expires_at, now);
      let result: SendResult;
      try {
        result = await adapters[carrier.provider].send(carrier, {
          messageId: row.id,
          to: row.to,
          ...(from ? { from } : {}),
          ...(carrier.messagingServiceSid ? { messagingServiceSid: carrier.messagingServiceSid } : {}),
          body: row.body,
          ...(validitySeconds !== undefined ? { validitySeconds } : {}),
          statusCallbackUrl: statusCallbackUrlFor(callback, row.id),
        });
      } catch (err) {
        result = {
          outcome: "retryable",
          errorCode: "send_error",
          errorMessage: err instanceof Error ? err.message : String(err),
          maybeAccepted: true,
        };
      }
      return { cand, from, result };
    }),
  );
}
