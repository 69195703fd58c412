import { eq } from "drizzle-orm";
import type { ContactRow, ProgramRow, TenantRow } from "../../db/rows";
import { tenants } from "../../db/schema";
import { ageOn } from "../../domain/age";
import { localDate } from "../../domain/schedule";
import { notFound } from "../../lib/problem";
import type { ServiceContext } from "../context";

export async function loadTenant(ctx: ServiceContext): Promise<TenantRow> {
  const row = await ctx.db.select().from(tenants).where(eq(tenants.id, ctx.tenantId)).get();
  if (!row) throw notFound("Tenant");
  return row;
}

/** The zone a contact's local times are read in: its own, else the tenant's. */
export const contactZone = (
  contact: Pick<ContactRow, "timezone">,
  tenant: Pick<TenantRow, "timezone">,
): string => contact.timezone || tenant.timezone || "UTC";

/** `contact.*` as templates see it (the API's contact fields, `attributes` and `age`). */
export function contactScope(c: ContactRow, zone: string, now = Date.now()): Record<string, unknown> {
  return {
    id: c.id,
    phone: c.phone,
    first_name: c.firstName,
    last_name: c.lastName,
    email: c.email,
    external_id: c.externalId,
    timezone: c.timezone,
    locale: c.locale,
    birthday: c.birthday,
    age: ageOn(c.birthday, localDate(now, zone)),
    attributes: c.attributes ?? {},
    subscribed: c.subscribed,
    created_at: c.createdAt,
  };
}

/** The whole template scope for one contact of one program. */
export function templateScope(
  program: Pick<ProgramRow, "name">,
  tenant: TenantRow,
  contact: ContactRow | null,
  zone: string,
  event?: Record<string, unknown> | null,
  now = Date.now(),
): Record<string, unknown> {
  return {
    contact: contact ? contactScope(contact, zone, now) : {},
    event: event ?? {},
    tenant: { brand_name: tenant.brandName, name: tenant.name, support_contact: tenant.supportContact },
    program: { name: program.name },
  };
}
