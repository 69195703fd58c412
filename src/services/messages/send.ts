import { and, eq } from "drizzle-orm";
import type { ContactRow, MessageRow } from "../../db/rows";
import { contacts } from "../../db/schema";
import { bodyLimitError, withFooter } from "../../domain/message-body";
import { normalizePhone } from "../../domain/phone";
import { renderBody } from "../../domain/template";
import { invalidField } from "../../lib/problem";
import { iso } from "../../lib/time";
import { findCarrier } from "../carriers/config";
import { contactView } from "../contacts/view";
import type { ServiceContext } from "../context";
import { getTenant } from "../tenants/tenants";
import { createMessages } from "./create";

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

/**
 * One message from the API: resolves the recipient (linking the contact that owns `to`), renders a
 * template, then goes through `createMessages` like every other message, so the answer already says
 * `queued`, `scheduled` or `suppressed` with its reason.
 */
export async function sendApiMessage(ctx: ServiceContext, input: ApiSendInput): Promise<MessageRow> {
  if (input.to !== undefined && input.contact_id !== undefined)
    throw invalidField("contact_id", "give `to` or `contact_id`, not both");
  if (input.to === undefined && input.contact_id === undefined)
    throw invalidField("to", "give `to` or `contact_id`");
  if (input.body !== undefined && input.template !== undefined)
    throw invalidField("template", "give `body` or `template`, not both");
  if (input.body === undefined && input.template === undefined)
    throw invalidField("body", "give `body` or `template`");
  if (input.data !== undefined && input.template === undefined)
    throw invalidField("data", "only applies to `template`");

  const tenant = await getTenant(ctx);
  let to: string;
  let contact: ContactRow | undefined;
  if (input.contact_id !== undefined) {
    contact = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.id, input.contact_id)))
      .get();
    if (!contact) throw invalidField("contact_id", "does not exist");
    to = contact.phone;
  } else {
    const phone = normalizePhone(input.to ?? "", tenant.defaultCountry);
    if (!phone.ok) throw invalidField("to", phone.message);
    to = phone.e164;
    contact = await ctx.db
      .select()
      .from(contacts)
      .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.phone, to)))
      .get();
  }

  if (input.carrier_id !== undefined && !(await findCarrier(ctx, input.carrier_id)))
    throw invalidField("carrier_id", "does not exist");

  let body = input.body ?? "";
  if (input.template !== undefined) {
    const scope = {
      ...input.data,
      contact: contact ? contactView(contact) : { phone: to },
      tenant: { brand_name: tenant.brandName },
    };
    const rendered = renderBody(input.template, scope, { timezone: contact?.timezone ?? tenant.timezone });
    if (!rendered.ok) throw invalidField("template", rendered.error);
    if (rendered.missing.length > 0)
      throw invalidField(
        "template",
        `no value for ${rendered.missing.map((m) => `\`${m}\``).join(", ")} (pass it in \`data\`)`,
      );
    body = rendered.body;
    if (body.length === 0) throw invalidField("template", "renders to an empty message");
  }

  const category = input.category ?? "transactional";
  // The body the carrier would get (marketing adds the opt-out footer) is at most 1,600 characters.
  const tooLong = bodyLimitError(category === "marketing" ? withFooter(body, tenant.optOutFooter) : body);
  if (tooLong) throw invalidField(input.template !== undefined ? "template" : "body", tooLong);
  const sendAtMs = input.send_at !== undefined ? Date.parse(input.send_at) : Number.NaN;
  const [created] = await createMessages(ctx, [
    {
      to,
      contactId: contact?.id ?? null,
      body,
      category,
      quietHours: input.quiet_hours ?? (category === "marketing" ? "enforce" : "ignore"),
      // A send_at in the past means now (its validity then counts from now, not from the past).
      ...(sendAtMs > Date.now() ? { sendAt: iso(sendAtMs) } : {}),
      validityHours: input.validity_hours ?? 24,
      carrierId: input.carrier_id ?? null,
    },
  ]);
  if (!created) throw new Error("createMessages returned nothing for one input");
  return created.message;
}
