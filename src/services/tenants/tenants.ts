import { eq } from "drizzle-orm";
import type { TenantRow } from "../../db/rows";
import { apiKeys, tenants } from "../../db/schema";
import { newId } from "../../lib/ids";
import { notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import { createApiKey } from "../api-keys/manage";
import type { ServiceContext } from "../context";
import { DEFAULT_RETENTION_DAYS, DEFAULT_TENANT_MPS, type OperatorSettingsInput } from "./operator";

export interface TenantSettingsInput {
  name?: string;
  brand_name?: string;
  default_country?: string;
  timezone?: string;
  support_contact?: string | null;
  quiet_hours?: { start: string; end: string };
  frequency_cap?: { max_messages: number; window_hours: number };
  dedupe_window_hours?: number;
  help_text?: string | null;
  stop_text?: string | null;
  opt_out_footer?: string;
}

/** The STOP confirmation when the tenant has not written its own: brand, no marketing. */
export const defaultStopText = (t: Pick<TenantRow, "brandName">): string =>
  `${t.brandName}: You're unsubscribed and won't get more texts from us. Reply START to resubscribe.`;

/** The HELP answer when the tenant has not written its own (CTIA: brand, contact, frequency, rates, how to stop). */
export const defaultHelpText = (t: Pick<TenantRow, "brandName" | "supportContact">): string =>
  `${t.brandName}: ${t.supportContact ? `Help at ${t.supportContact}. ` : ""}Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out.`;

const settingsColumns = (input: TenantSettingsInput): Partial<TenantRow> => ({
  ...(input.name !== undefined && { name: input.name }),
  ...(input.brand_name !== undefined && { brandName: input.brand_name }),
  ...(input.default_country !== undefined && { defaultCountry: input.default_country }),
  ...(input.timezone !== undefined && { timezone: input.timezone }),
  ...(input.support_contact !== undefined && { supportContact: input.support_contact }),
  ...(input.quiet_hours !== undefined && {
    quietHoursStart: input.quiet_hours.start,
    quietHoursEnd: input.quiet_hours.end,
  }),
  ...(input.frequency_cap !== undefined && {
    frequencyCapMax: input.frequency_cap.max_messages,
    frequencyCapWindowHours: input.frequency_cap.window_hours,
  }),
  ...(input.dedupe_window_hours !== undefined && { dedupeWindowHours: input.dedupe_window_hours }),
  ...(input.help_text !== undefined && { helpText: input.help_text }),
  ...(input.stop_text !== undefined && { stopText: input.stop_text }),
  ...(input.opt_out_footer !== undefined && { optOutFooter: input.opt_out_footer }),
});

/** Creates a tenant and its first API key (all scopes) in one batch. */
export async function createTenant(
  ctx: Omit<ServiceContext, "tenantId">,
  input: TenantSettingsInput & OperatorSettingsInput & { name: string },
): Promise<{ tenant: TenantRow; apiKey: string }> {
  const now = nowIso();
  const tenantId = newId("tenant");
  const tenant: TenantRow = {
    id: tenantId,
    name: input.name,
    brandName: input.brand_name ?? input.name,
    defaultCountry: "US",
    timezone: "America/New_York",
    supportContact: null,
    quietHoursStart: "21:00",
    quietHoursEnd: "08:00",
    frequencyCapMax: 3,
    frequencyCapWindowHours: 24,
    dedupeWindowHours: 24,
    helpText: null,
    stopText: null,
    optOutFooter: "Reply STOP to opt out.",
    mps: input.mps ?? DEFAULT_TENANT_MPS,
    retentionDays: input.retention_days ?? DEFAULT_RETENTION_DAYS,
    createdAt: now,
    updatedAt: now,
    ...settingsColumns(input),
  };
  const { row: keyRow, key } = await createApiKey({
    ctx: { ...ctx, tenantId },
    input: { name: "Default key", scopes: ["*"] },
  });
  await ctx.db.batch([ctx.db.insert(tenants).values(tenant), ctx.db.insert(apiKeys).values(keyRow)]);
  return { tenant, apiKey: key };
}

export async function getTenant(ctx: ServiceContext): Promise<TenantRow> {
  const row = await ctx.db.query.tenants.findFirst({ where: eq(tenants.id, ctx.tenantId) });
  if (!row) throw notFound("Tenant");
  return row;
}

export async function updateTenant(ctx: ServiceContext, input: TenantSettingsInput): Promise<TenantRow> {
  const rows = await ctx.db
    .update(tenants)
    .set({ ...settingsColumns(input), updatedAt: nowIso() })
    .where(eq(tenants.id, ctx.tenantId))
    .returning()
    .all();
  const row = rows[0];
  if (!row) throw notFound("Tenant");
  return row;
}
