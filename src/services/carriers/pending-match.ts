import { and, desc, eq, isNull, or } from "drizzle-orm";
import { messages } from "../../db/schema";
import type { ServiceContext } from "../context";

/**
 * The one message of this carrier to this phone that still waits for its carrier message id: it
 * is `sending` (the carrier call is under way, or its answer was lost) or `failed` with
 * `unknown_outcome`. For carriers whose reports name only a batch and a recipient (Sinch): a report
 * that arrives before the send's answer was recorded, or after that answer was lost, still finds
 * its message. Undefined when there is none or more than one (which one the report is about cannot
 * be told); the caller passes it on only as a hint, checked against the report's recipient.
 */
export async function pendingMessageFor(
  ctx: ServiceContext,
  carrierId: string,
  phone: string,
): Promise<string | undefined> {
  const rows = await ctx.db
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, ctx.tenantId),
        eq(messages.to, phone),
        eq(messages.carrierId, carrierId),
        isNull(messages.carrierMessageId),
        or(
          eq(messages.status, "sending"),
          and(eq(messages.status, "failed"), eq(messages.statusReason, "unknown_outcome")),
        ),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(2)
    .all();
  return rows.length === 1 ? rows[0]?.id : undefined;
}
