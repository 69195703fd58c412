import { eq } from "drizzle-orm";
import type { ContactRow, ProgramRow, TenantRow } from "../../db/rows";
import { tenants } from "../../db/schema";
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

/** Whole years since a full `YYYY-MM-DD` birthday, on the contact's local today; null for `--MM-DD`. */
export function ageOn(birthday: string | null, zone: string, now = Date.now()): number | null {
  if (!birthday || !/^\d{4}-\d{2}-\d{2}$/.test(birthday)) return null;
  const today = localDate(now, zone);
  const years = Number(today.slice(0, 4)) - Number(birthday.slice(0, 4));
  return today.slice(5) < birthday.slice(5) ? years - 1 : years;
}

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
    age: ageOn(c.birthday, zone, now),
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
