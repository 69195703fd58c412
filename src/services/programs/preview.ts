import { and, eq } from "drizzle-orm";
import type { ContactRow } from "../../db/rows";
import { contacts } from "../../db/schema";
import { analyzeBody, ucs2Culprits } from "../../domain/encoding";
import { renderBody } from "../../domain/template";
import { invalidField } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { bodyLimitError, withFooter } from "../messages/create";
import { getProgram } from "./programs";
import { contactZone, loadTenant, templateScope } from "./scope";

export interface InlineContact {
  phone?: string;
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  external_id?: string | null;
  timezone?: string | null;
  locale?: string | null;
  birthday?: string | null;
  attributes?: Record<string, string | number | boolean>;
}

export interface PreviewInput {
  contact_id?: string;
  contact?: InlineContact;
  event?: Record<string, unknown>;
}

export interface Preview {
  body: string;
  encoding: "GSM-7" | "UCS-2";
  segments: number;
  characters: number;
  warnings: string[];
}

function inlineContact(c: InlineContact, tenantId: string): ContactRow {
  const now = nowIso();
  return {
    id: "ct_preview",
    tenantId,
    phone: c.phone ?? "",
    firstName: c.first_name ?? null,
    lastName: c.last_name ?? null,
    email: c.email ?? null,
    externalId: c.external_id ?? null,
    timezone: c.timezone ?? null,
    locale: c.locale ?? null,
    birthday: c.birthday ?? null,
    attributes: c.attributes ?? {},
    subscribed: true,
    marketingOptIn: true,
    unsubscribedAt: null,
    createdAt: now,
    updatedAt: now,
  } as ContactRow;
}

/** The message one contact would get: body with footer, encoding, segments, and what to watch out for. */
export async function previewProgram(ctx: ServiceContext, id: string, input: PreviewInput): Promise<Preview> {
  const program = await getProgram(ctx, id);
  const tenant = await loadTenant(ctx);
  let contact: ContactRow | null = null;
  if (input.contact_id) {
    contact =
      (await ctx.db
        .select()
        .from(contacts)
        .where(and(eq(contacts.tenantId, ctx.tenantId), eq(contacts.id, input.contact_id)))
        .get()) ?? null;
    if (!contact) throw invalidField("contact_id", "does not exist");
  } else if (input.contact) {
    contact = inlineContact(input.contact, ctx.tenantId);
  }
  const zone = contact ? contactZone(contact, tenant) : tenant.timezone;
  const scope = templateScope(program, tenant, contact, zone, input.event ?? null);
  const rendered = renderBody(program.template, scope, { timezone: zone });
  // The message would end `failed / template_error`: the preview says why instead of a body.
  if (!rendered.ok) throw invalidField("template", rendered.error);
  const { missing } = rendered;
  const body =
    program.category === "marketing" ? withFooter(rendered.body, tenant.optOutFooter) : rendered.body;
  const tooLong = bodyLimitError(body);
  if (tooLong) throw invalidField("template", tooLong);
  const analysis = analyzeBody(body);
  const warnings: string[] = [];
  for (const ch of ucs2Culprits(body)) warnings.push(`${ch} forces UCS-2`);
  for (const path of missing)
    warnings.push(`${path} is missing for this contact (the message would be suppressed)`);
  if (analysis.segments > 1) warnings.push(`${analysis.segments} segments: each is billed as one SMS`);
  return {
    body,
    encoding: analysis.encoding,
    segments: analysis.segments,
    characters: analysis.characters,
    warnings,
  };
}
