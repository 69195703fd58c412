import { and, eq, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import type { ContactRow } from "../../db/rows";
import { contacts, programs } from "../../db/schema";
import { occurrenceKey } from "../../domain/rules/occurrence-key";
import { addMinutes, nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { inAudience } from "../programs/audience";
import { refreshContactDue } from "../programs/due";
import { createOccurrenceMessages } from "../programs/execute";
import { loadTenant } from "../programs/scope";

const PAGE = 100;

/**
 * Runs the programs triggered by `contact.created` for newly created contacts, and arms their
 * date and per-zone schedule occurrences, then marks the contacts `created_fired_at`. Called by
 * every creation path (API, batch, hooks, events) and never on update — except for a contact whose
 * mark is missing: its creation's work died half-way (the insert committed, the trigger did not),
 * so the next write of it or the scheduler's sweep runs it again. The occurrence is the creation
 * itself (`pg:ct:contact.created`), so running it again sends nothing twice. Works in pages.
 */
export async function fireContactCreated(ctx: ServiceContext, created: ContactRow[]): Promise<void> {
  if (created.length === 0) return;
  await runCreatedTriggers(ctx, created);
  await ctx.db
    .update(contacts)
    .set({ createdFiredAt: nowIso() })
    .where(
      and(
        eq(contacts.tenantId, ctx.tenantId),
        sql`${contacts.id} IN ${inJsonList(created.map((c) => c.id))}`,
      ),
    )
    .run();
}

async function runCreatedTriggers(ctx: ServiceContext, created: ContactRow[]): Promise<void> {
  await refreshContactDue(
    ctx,
    created.map((c) => c.id),
  );
  const triggered = await ctx.db
    .select()
    .from(programs)
    .where(
      and(
        eq(programs.tenantId, ctx.tenantId),
        eq(programs.status, "active"),
        eq(programs.triggerEvent, "contact.created"),
      ),
    )
    .all();
  if (triggered.length === 0) return;
  const tenant = await loadTenant(ctx);
  for (const p of triggered) {
    const delay = p.trigger.type === "event" ? (p.trigger.delay_minutes ?? 0) : 0;
    for (let i = 0; i < created.length; i += PAGE) {
      const page = created.slice(i, i + PAGE);
      const members = await inAudience(
        ctx,
        p,
        page.map((c) => c.id),
      );
      await createOccurrenceMessages(
        ctx,
        p,
        tenant,
        page
          .filter((c) => members.has(c.id))
          .map((contact) => ({
            contact,
            occurrenceKey: occurrenceKey.contactCreated(p.id, contact.id),
            ...(delay > 0 ? { sendAt: addMinutes(contact.createdAt, delay) } : {}),
            event: { name: "contact.created", occurred_at: contact.createdAt },
          })),
      );
    }
  }
}
