import { and, asc, desc, eq, type SQL } from "drizzle-orm";
import { beforeCursor } from "../../db/keyset";
import type { MessageRow } from "../../db/rows";
import { messageEvents, messages } from "../../db/schema";
import { decodeCursor } from "../../lib/pagination";
import { HttpProblem, notFound } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { cancelPendingMessages } from "./cancel";
import { PENDING_STATUSES } from "./status";

export type MessageEventRow = typeof messageEvents.$inferSelect;

/** One message of the tenant; 404 for an unknown id or another tenant's. */
export async function getMessage(ctx: ServiceContext, id: string): Promise<MessageRow> {
  const row = await ctx.db
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.id, id)))
    .get();
  if (!row) throw notFound("Message");
  return row;
}

/** A message and its status history, oldest first. */
export async function getMessageWithEvents(
  ctx: ServiceContext,
  id: string,
): Promise<{ message: MessageRow; events: MessageEventRow[] }> {
  const [rows, events] = await ctx.db.batch([
    ctx.db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.id, id))),
    ctx.db
      .select()
      .from(messageEvents)
      .where(and(eq(messageEvents.tenantId, ctx.tenantId), eq(messageEvents.messageId, id)))
      .orderBy(asc(messageEvents.at), asc(messageEvents.id)),
  ]);
  const message = rows[0];
  if (!message) throw notFound("Message");
  return { message, events };
}

export interface MessageListInput {
  limit: number;
  cursor?: string;
  contact_id?: string;
  program_id?: string;
  status?: string;
}

/** Newest first, `limit + 1` rows (the route builds the page). */
export async function listMessages(ctx: ServiceContext, input: MessageListInput): Promise<MessageRow[]> {
  const filters: (SQL | undefined)[] = [
    eq(messages.tenantId, ctx.tenantId),
    input.contact_id !== undefined ? eq(messages.contactId, input.contact_id) : undefined,
    input.program_id !== undefined ? eq(messages.programId, input.program_id) : undefined,
    input.status !== undefined ? eq(messages.status, input.status) : undefined,
    beforeCursor(messages.createdAt, messages.id, decodeCursor(input.cursor)),
  ];
  return ctx.db
    .select()
    .from(messages)
    .where(and(...filters))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(input.limit + 1)
    .all();
}

/** Cancels one pending message; 409 once a carrier has it (or it already ended). */
export async function cancelMessage(ctx: ServiceContext, id: string): Promise<MessageRow> {
  const before = await getMessage(ctx, id);
  const pending = (PENDING_STATUSES as readonly string[]).includes(before.status);
  const canceled = pending
    ? await cancelPendingMessages(ctx, { messageId: id }, { detail: "canceled via API" })
    : 0;
  if (canceled === 0) {
    const now = await getMessage(ctx, id);
    throw new HttpProblem(
      "conflict",
      `Message is ${now.status} and can no longer be canceled (only scheduled or queued messages can)`,
    );
  }
  return getMessage(ctx, id);
}
