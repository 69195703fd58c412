import { and, eq, inArray, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import { messages } from "../../db/schema";
import { iso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { PENDING_STATUSES, transitionStatements } from "./status";

export type CancelWhere =
  | { messageId: string }
  | { phone: string }
  | { programId: string; contactId: string }
  /** A program's messages to any of these contacts (`exit_on` for a batch of events). */
  | { programId: string; contactIds: readonly string[] }
  | { programId: string }
  | { contactId: string };

const CANCEL_PAGE = 200;

/**
 * Moves pending (`scheduled`/`queued`) messages matching `where` to `canceled`, each through
 * `transitionStatements` so it gets its event and a message that left pending meanwhile is left
 * alone. Returns how many were canceled. Used by the cancel endpoint, `exit_on`, program archive,
 * contact erasure and STOP.
 */
export async function cancelPendingMessages(
  ctx: ServiceContext,
  where: CancelWhere,
  options: { reason?: string | null; detail?: string | null } = {},
): Promise<number> {
  const match =
    "messageId" in where
      ? eq(messages.id, where.messageId)
      : "phone" in where
        ? eq(messages.to, where.phone)
        : "programId" in where
          ? "contactId" in where
            ? and(eq(messages.programId, where.programId), eq(messages.contactId, where.contactId))
            : "contactIds" in where
              ? and(
                  eq(messages.programId, where.programId),
                  sql`${messages.contactId} IN ${inJsonList(where.contactIds)}`,
                )
              : eq(messages.programId, where.programId)
          : eq(messages.contactId, where.contactId);
  let canceled = 0;
  const seen = new Set<string>();
  for (;;) {
    const pending = await ctx.db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.status, [...PENDING_STATUSES]), match))
      .limit(CANCEL_PAGE);
    const fresh = pending.filter((p) => !seen.has(p.id));
    if (fresh.length === 0) return canceled;
    const at = iso();
    const statements = fresh.flatMap((p) => {
      seen.add(p.id);
      return transitionStatements(ctx.env.DB, {
        tenantId: ctx.tenantId,
        messageId: p.id,
        to: "canceled",
        at,
        detail: options.detail ?? options.reason ?? null,
        ...(options.reason ? { set: { status_reason: options.reason } } : {}),
      });
    });
    const results = await ctx.env.DB.batch(statements);
    for (let i = 0; i < results.length; i += 2) canceled += results[i]?.meta.changes ?? 0;
    if (pending.length < CANCEL_PAGE) return canceled;
  }
}
