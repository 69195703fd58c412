import { and, eq, isNull, or, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import type { ContactRow, MessageRow, TenantRow } from "../../db/rows";
import { carriers, contacts } from "../../db/schema";
import { bodyLimitError, withFooter } from "../../domain/message-body";
import { normalizePhone } from "../../domain/phone";
import { renderBody } from "../../domain/template";
import { type FieldError, invalidField } from "../../lib/problem";
import { iso } from "../../lib/time";
import { contactView } from "../contacts/view";
import type { ServiceContext } from "../context";
import { getTenant } from "../tenants/tenants";
import { createMessages, type NewMessage } from "./create";

/** `POST /v1/messages` as the service sees it (snake_case, as validated by the route). */
export interface ApiSendInput {
  to?: string;
  contact_id?: string;
  body?: string;
  template?: string;
  data?: Record<string, unknown>;
  send_at?: string;
  category?: "transactional" | "marketing";
  quiet_hours?: "enforce" | "ignore";
  carrier_id?: string;
  validity_hours?: number;
}

/** One API send's answer: the message created, or the 422 of the first rule it broke. */
export type ApiSendOutcome = { ok: true; message: MessageRow } | { ok: false; errors: FieldError[] };

const fail = (path: string, message: string): { error: FieldError } => ({ error: { path, message } });

/** The checks that need nothing but the body: which of `to`/`contact_id`, `body`/`template`, `data`. */
function shapeError(input: ApiSendInput): { error: FieldError } | null {
  if (input.to !== undefined && input.contact_id !== undefined)
    return fail("contact_id", "give `to` or `contact_id`, not both");
  if (input.to === undefined && input.contact_id === undefined)
    return fail("to", "give `to` or `contact_id`");
  if (input.body !== undefined && input.template !== undefined)
    return fail("template", "give `body` or `template`, not both");
  if (input.body === undefined && input.template === undefined)
    return fail("body", "give `body` or `template`");
  if (input.data !== undefined && input.template === undefined)
    return fail("data", "only applies to `template`");
  return null;
}

/** What the sends of one call read from D1, once for all of them. */
interface SendFacts {
  tenant: TenantRow;
  contactById: ReadonlyMap<string, ContactRow>;
  contactByPhone: ReadonlyMap<string, ContactRow>;
  carrierIds: ReadonlySet<string>;
}

/**
 * One send's recipient, carrier and body, in the order the single route has always checked them
 * (recipient, carrier, template, length): the `NewMessage` to create, or the first error.
 */
function prepareSend(
  input: ApiSendInput,
  phone: string | undefined,
  facts: SendFacts,
): NewMessage | { error: FieldError } {
  const { tenant } = facts;
  let to: string;
  let contact: ContactRow | undefined;
  if (input.contact_id !== undefined) {
    contact = facts.contactById.get(input.contact_id);
    if (!contact) return fail("contact_id", "does not exist");
    to = contact.phone;
  } else {
    if (phone === undefined) return fail("to", "is not a valid phone number");
    to = phone;
    contact = facts.contactByPhone.get(to);
  }
  if (input.carrier_id !== undefined && !facts.carrierIds.has(input.carrier_id))
    return fail("carrier_id", "does not exist");

  let body = input.body ?? "";
  if (input.template !== undefined) {
    const scope = {
      ...input.data,
      contact: contact ? contactView(contact) : { phone: to },
      tenant: { brand_name: tenant.brandName },
    };
    const rendered = renderBody(input.template, scope, { timezone: contact?.timezone ?? tenant.timezone });
    if (!rendered.ok) return fail("template", rendered.error);
    if (rendered.missing.length > 0)
      return fail(
        "template",
        `no value for ${rendered.missing.map((m) => `\`${m}\``).join(", ")} (pass it in \`data\`)`,
      );
    body = rendered.body;
    if (body.length === 0) return fail("template", "renders to an empty message");
  }

  const category = input.category ?? "transactional";
  // The body the carrier would get (marketing adds the opt-out footer) is at most 1,600 characters.
  const tooLong = bodyLimitError(category === "marketing" ? withFooter(body, tenant.optOutFooter) : body);
  if (tooLong) return fail(input.template !== undefined ? "template" : "body", tooLong);
  const sendAtMs = input.send_at !== undefined ? Date.parse(input.send_at) : Number.NaN;
  return {
    to,
    contactId: contact?.id ?? null,
    body,
    category,
    quietHours: input.quiet_hours ?? (category === "marketing" ? "enforce" : "ignore"),
    // A send_at in the past means now (its validity then counts from now, not from the past).
    ...(sendAtMs > Date.now() ? { sendAt: iso(sendAtMs) } : {}),
    validityHours: input.validity_hours ?? 24,
    carrierId: input.carrier_id ?? null,
  };
}

/**
 * API sends, one or many (`POST /v1/messages` and `/v1/messages/batch` alike): each resolves its
 * recipient (linking the contact that owns `to`), renders its template, then all go through one
 * `createMessages` call like every other message, so each answer already says `queued`,
 * `scheduled` or `suppressed` with its reason. The contacts and carriers of every send are read in
 * one round trip whatever their number; a send that breaks a rule gets its 422 errors and never
 * stops the others. Outcomes come back in input order.
 */
export async function sendApiMessages(
  ctx: ServiceContext,
  inputs: readonly ApiSendInput[],
): Promise<ApiSendOutcome[]> {
  const outcomes: (ApiSendOutcome | undefined)[] = inputs.map((input) => {
    const shape = shapeError(input);
    return shape ? { ok: false, errors: [shape.error] } : undefined;
  });
  if (outcomes.every((o) => o !== undefined)) return outcomes as ApiSendOutcome[];

  const tenant = await getTenant(ctx);
  const phones = inputs.map((input, i) => {
    if (outcomes[i] || input.to === undefined) return undefined;
    const phone = normalizePhone(input.to, tenant.defaultCountry);
    if (!phone.ok) outcomes[i] = { ok: false, errors: [{ path: "to", message: phone.message }] };
    return phone.ok ? phone.e164 : undefined;
  });
  const pending = inputs.flatMap((input, i) => (outcomes[i] ? [] : [{ input, i }]));
  const distinct = (values: (string | undefined)[]) => [
    ...new Set(values.filter((v): v is string => v !== undefined)),
  ];
  const contactIds = distinct(pending.map((p) => p.input.contact_id));
  const carrierIds = distinct(pending.map((p) => p.input.carrier_id));
  const db = ctx.db;
  const [contactRows, carrierRows] = await db.batch([
    db
      .select()
      .from(contacts)
      .where(
        and(
          eq(contacts.tenantId, ctx.tenantId),
          or(
            sql`${contacts.id} IN ${inJsonList(contactIds)}`,
            sql`${contacts.phone} IN ${inJsonList(distinct(phones))}`,
          ),
        ),
      ),
    db
      .select({ id: carriers.id })
      .from(carriers)
      .where(
        and(
          eq(carriers.tenantId, ctx.tenantId),
          isNull(carriers.deletedAt),
          sql`${carriers.id} IN ${inJsonList(carrierIds)}`,
        ),
      ),
  ]);
  const facts: SendFacts = {
    tenant,
    contactById: new Map(contactRows.map((c) => [c.id, c])),
    contactByPhone: new Map(contactRows.map((c) => [c.phone, c])),
    carrierIds: new Set(carrierRows.map((c) => c.id)),
  };

  const toCreate: { i: number; message: NewMessage }[] = [];
  for (const { input, i } of pending) {
    const prepared = prepareSend(input, phones[i], facts);
    if ("error" in prepared) outcomes[i] = { ok: false, errors: [prepared.error] };
    else toCreate.push({ i, message: prepared });
  }
  const created = await createMessages(
    ctx,
    toCreate.map((c) => c.message),
  );
  toCreate.forEach(({ i }, k) => {
    const row = created[k];
    if (!row) throw new Error("createMessages returned fewer results than inputs");
    outcomes[i] = { ok: true, message: row.message };
  });
  return outcomes as ApiSendOutcome[];
}

/** One message from the API (`POST /v1/messages`): `sendApiMessages` of one, its error a 422. */
export async function sendApiMessage(ctx: ServiceContext, input: ApiSendInput): Promise<MessageRow> {
  const [outcome] = await sendApiMessages(ctx, [input]);
  if (!outcome) throw new Error("sendApiMessages returned nothing for one input");
  if (!outcome.ok) {
    const [first] = outcome.errors;
    throw invalidField(first?.path ?? "(body)", first?.message ?? "is invalid");
  }
  return outcome.message;
}
