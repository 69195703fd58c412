import type { InboundSms } from "../../carriers/types";
import type { ServiceContext } from "../context";

/**
 * An inbound SMS from a verified carrier callback: keywords (STOP/START/HELP families) change consent
 * and answer once; other texts are stored and sent to webhooks as `message.received`. Returns the
 * reply text when the caller should answer inline (TwiML), else null.
 * PLACEHOLDER until the inbound work lands (issue 5).
 */
export async function handleInboundSms(
  _ctx: ServiceContext,
  _carrier: { id: string; provider: string },
  _sms: InboundSms,
): Promise<{ reply: string | null }> {
  return { reply: null };
}
