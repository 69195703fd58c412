import { and, eq, sql } from "drizzle-orm";
import { IN_JSON_LIST, inJsonList } from "../../db/json-list";
import type { ContactRow, ProgramRow, TenantRow } from "../../db/rows";
import { programExits } from "../../db/schema";
import { exitHolds } from "../../domain/rules/program-state";
import { renderBody } from "../../domain/template";
import { iso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { type CreatedMessage, createMessages, type NewMessage } from "../messages/create";
import { attributeDate } from "./due";
import { contactZone, templateScope } from "./scope";

/** One occurrence of a program for one contact. */
export interface Occurrence {
  contact: ContactRow;
  /** Unique per tenant: `pg_x:ct_y:2026` and the like (sending rule 2). */
  occurrenceKey: string;
  /** When it is due (ISO); absent = now. */
  sendAt?: string;
  event?: Record<string, unknown> | null;
  eventId?: string | null;
  runId?: string | null;
}

/** The value of the program's date field for a contact: what an exit stays bound to. */
export function exitFieldValue(program: Pick<ProgramRow, "trigger">, contact: ContactRow): string | null {
  const t = program.trigger;
  if (t.type !== "date") return null;
  return t.field === "birthday" ? contact.birthday : attributeDate(contact, t.field);
}

/** Contacts (of these) for whom an `exit_on` event still stops this program. */
export async function exitedContacts(
  ctx: ServiceContext,
  program: ProgramRow,
  contacts: ContactRow[],
): Promise<Set<string>> {
  if (contacts.length === 0 || program.exitOn.length === 0) return new Set();
  const rows = await ctx.db
    .select({ contactId: programExits.contactId, fieldValue: programExits.fieldValue })
    .from(programExits)
    .where(
      and(
        eq(programExits.programId, program.id),
        sql`${programExits.contactId} IN ${inJsonList(contacts.map((c) => c.id))}`,
      ),
    )
    .all();
  const byId = new Map(contacts.map((c) => [c.id, c]));
  const out = new Set<string>();
  const lifted: string[] = [];
  for (const r of rows) {
    const c = byId.get(r.contactId);
    if (!c) continue;
    // The exit holds until the date field changes; event and schedule programs have no field.
    if (exitHolds(r.fieldValue, exitFieldValue(program, c))) out.add(r.contactId);
    else lifted.push(r.contactId);
  }
  // A lifted exit is removed, so the dispatcher's own exit check (any row) agrees.
  if (lifted.length > 0) {
    await ctx.env.DB.prepare(
      `DELETE FROM program_exits WHERE program_id = ? AND contact_id IN ${IN_JSON_LIST}`,
    )
      .bind(program.id, JSON.stringify(lifted))
      .run();
  }
  return out;
}

/**
 * Renders and creates the messages of these occurrences through `createMessages` (which applies
 * the sending rules). A template the contact's data cannot fill is created `suppressed /
 * missing_data` rather than sent with holes; an exited contact's occurrence `suppressed / exited`;
 * one whose render fails or goes past Herald's limits `failed / template_error` (that occurrence
 * only: the others of the page go on).
 */
export async function createOccurrenceMessages(
  ctx: ServiceContext,
  program: ProgramRow,
  tenant: TenantRow,
  occurrences: Occurrence[],
  now = Date.now(),
): Promise<CreatedMessage[]> {
  if (occurrences.length === 0) return [];
  const exited = await exitedContacts(
    ctx,
    program,
    occurrences.map((o) => o.contact),
  );
  const inputs: NewMessage[] = occurrences.map((o) => {
    const zone = contactZone(o.contact, tenant);
    const scope = templateScope(program, tenant, o.contact, zone, o.event, now);
    const rendered = renderBody(program.template, scope, { timezone: zone });
    const body = rendered.ok ? rendered.body : "";
    // An exited contact gets nothing whatever the template does.
    if (exited.has(o.contact.id))
      return occurrenceInput(program, o, now, body, { presetSuppression: "exited" });
    if (!rendered.ok)
      return occurrenceInput(program, o, now, "", { templateError: `the template ${rendered.error}` });
    const missing = rendered.missing.length > 0;
    return occurrenceInput(program, o, now, body, missing ? { presetSuppression: "missing_data" } : {});
  });
  return createMessages(ctx, inputs);
}

/** The message of one occurrence, with the body the template made (or the reason it made none). */
function occurrenceInput(
  program: ProgramRow,
  o: Occurrence,
  now: number,
  body: string,
  outcome: Pick<NewMessage, "presetSuppression" | "templateError">,
): NewMessage {
  return {
    to: o.contact.phone,
    contactId: o.contact.id,
    body,
    category: program.category,
    quietHours: program.quietHours,
    sendAt: o.sendAt ?? iso(now),
    validityHours: program.validityHours,
    programId: program.id,
    occurrenceKey: o.occurrenceKey,
    runId: o.runId ?? null,
    eventId: o.eventId ?? null,
    carrierId: program.carrierId,
    ...outcome,
  };
}
