import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { createDb } from "../../src/db/client";
import type { MessageRow } from "../../src/db/rows";
import { messageEvents, messages } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { nowIso } from "../../src/lib/time";

/**
 * Writes an outbox row directly (for tests of code that acts on existing messages, without going
 * through the messages API). Defaults: a queued transactional GSM-7 text to +15555550100.
 */
export async function insertOutboxMessage(
  tenantId: string,
  overrides: Partial<typeof messages.$inferInsert> = {},
): Promise<MessageRow> {
  const now = nowIso();
  const row = {
    id: newId("message"),
    tenantId,
    to: "+15555550100",
    body: "Your order has shipped.",
    bodyHash: "0".repeat(64),
    encoding: "GSM-7" as const,
    segments: 1,
    characters: 23,
    category: "transactional" as const,
    quietHours: "ignore" as const,
    status: "queued",
    scheduledAt: now,
    expiresAt: new Date(Date.now() + 24 * 3_600_000).toISOString(),
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
  const db = createDb(env.DB);
  await db.insert(messages).values(row).run();
  const stored = await db.select().from(messages).where(eq(messages.id, row.id)).get();
  if (!stored) throw new Error("outbox insert failed");
  return stored;
}

export async function getOutboxMessage(id: string): Promise<MessageRow> {
  const row = await createDb(env.DB).select().from(messages).where(eq(messages.id, id)).get();
  if (!row) throw new Error(`no message ${id}`);
  return row;
}

/** The message's events, oldest first. */
export async function outboxEvents(id: string) {
  return createDb(env.DB)
    .select()
    .from(messageEvents)
    .where(eq(messageEvents.messageId, id))
    .orderBy(messageEvents.at, messageEvents.id)
    .all();
}
