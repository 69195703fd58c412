import { z } from "@hono/zod-openapi";
import type { TenantRow } from "../../db/rows";
import { listOf } from "../../lib/pagination";
import { CountrySchema, HhMmSchema, TimestampSchema, TimezoneSchema } from "../../lib/validators";
import { RETENTION_DAYS_RANGE, TENANT_MPS_RANGE } from "../../services/tenants/operator";
import { defaultHelpText, defaultStopText } from "../../services/tenants/tenants";

const QuietHoursSchema = z
  .strictObject({
    start: HhMmSchema.openapi({
      description: "Start of quiet hours, local time (inclusive).",
      example: "21:00",
    }),
    end: HhMmSchema.openapi({ description: "End of quiet hours, local time (exclusive).", example: "08:00" }),
  })
  .openapi("QuietHours", {
    description: "Local-time window `[start, end)` in which program and marketing messages wait.",
  });

const FrequencyCapSchema = z
  .strictObject({
    max_messages: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .openapi({ description: "Most marketing messages per contact in the window.", example: 3 }),
    window_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 31)
      .openapi({ description: "Rolling window length in hours.", example: 24 }),
  })
  .openapi("FrequencyCap", { description: "Cap on marketing messages per contact." });

const settingsFields = {
  brand_name: z.string().min(1).max(100).openapi({
    description: "Name customers know you by; starts STOP/HELP replies.",
    example: "Acme Outfitters",
  }),
  default_country: CountrySchema.openapi({
    description: "Country used to read national phone numbers.",
    example: "US",
  }),
  timezone: TimezoneSchema.openapi({
    description: "The business's own zone (fallback for contacts with no known zone).",
    example: "America/New_York",
  }),
  support_contact: z.string().max(200).nullable().openapi({
    description: "How customers reach a person (HELP reply).",
    example: "help@acme.example or (800) 555-0100",
  }),
  quiet_hours: QuietHoursSchema,
  frequency_cap: FrequencyCapSchema,
  dedupe_window_hours: z
    .number()
    .int()
    .min(0)
    .max(24 * 31)
    .openapi({
      description: "Same body to the same phone inside this window is suppressed as duplicate.",
      example: 24,
    }),
  help_text: z.string().min(1).max(480).nullable().openapi({
    description: "Reply to HELP/INFO; null uses the default.",
    example:
      "Acme Outfitters: Help at help@acme.example. Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out.",
  }),
  stop_text: z.string().min(1).max(480).nullable().openapi({
    description: "Reply to STOP; null uses the default.",
    example:
      "Acme Outfitters: You're unsubscribed and won't get more texts from us. Reply START to resubscribe.",
  }),
  opt_out_footer: z.string().min(1).max(100).openapi({
    description: "Appended to marketing messages that don't already mention STOP.",
    example: "Reply STOP to opt out.",
  }),
};

/** Operator settings: set with ADMIN_TOKEN only (`POST /v1/tenants`, `PATCH /v1/tenants/{id}`). */
export const operatorFields = {
  name: z
    .string()
    .min(1)
    .max(100)
    .openapi({ description: "Tenant (business) name.", example: "Acme Outfitters" }),
  mps: z
    .number()
    .int()
    .min(TENANT_MPS_RANGE.min)
    .max(TENANT_MPS_RANGE.max)
    .openapi({
      description:
        "The tenant's share of the deployment: segments per second across all its carriers (1–10,000, " +
        "default 100). Each carrier's own `mps` still caps its sender pool; a message goes when both " +
        "allow it. Operator setting: a tenant's API key can read it in `GET /v1/tenant`, never change it.",
      example: 100,
    }),
  retention_days: z
    .number()
    .int()
    .min(RETENTION_DAYS_RANGE.min)
    .max(RETENTION_DAYS_RANGE.max)
    .openapi({
      description:
        "Days final messages, their events and inbound messages stay in D1 before they are exported to " +
        "the archive (7–3,650, default 90; consent records never leave). Stored and returned now; the " +
        "export itself arrives with the archives (a later issue). Operator setting.",
      example: 90,
    }),
};

export const CreateTenantSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: "Tenant (business) name.", example: "Acme Outfitters" }),
    brand_name: settingsFields.brand_name.optional(),
    default_country: settingsFields.default_country.optional(),
    timezone: settingsFields.timezone.optional(),
    support_contact: settingsFields.support_contact.optional(),
    mps: operatorFields.mps.optional(),
    retention_days: operatorFields.retention_days.optional(),
  })
  .openapi("CreateTenant", { description: "A new tenant; absent settings take their defaults." });

export const UpdateOperatorSettingsSchema = z
  .strictObject({
    name: operatorFields.name.optional(),
    mps: operatorFields.mps.optional(),
    retention_days: operatorFields.retention_days.optional(),
  })
  .openapi("UpdateOperatorSettings", {
    description: "Operator settings to change; fields absent from the body are left as they were.",
    example: { mps: 500 },
  });

export const UpdateTenantSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "Tenant (business) name.", example: "Acme Outfitters" }),
    brand_name: settingsFields.brand_name.optional(),
    default_country: settingsFields.default_country.optional(),
    timezone: settingsFields.timezone.optional(),
    support_contact: settingsFields.support_contact.optional(),
    quiet_hours: settingsFields.quiet_hours.optional(),
    frequency_cap: settingsFields.frequency_cap.optional(),
    dedupe_window_hours: settingsFields.dedupe_window_hours.optional(),
    help_text: settingsFields.help_text.optional(),
    stop_text: settingsFields.stop_text.optional(),
    opt_out_footer: settingsFields.opt_out_footer.optional(),
  })
  .openapi("UpdateTenant", {
    description:
      "The tenant's own settings. Operator settings (`mps`, `retention_days`) are not fields here: " +
      "sending them is a 400 naming the field; the operator changes them with `PATCH /v1/tenants/{id}`.",
  });

export const TenantSchema = z
  .object({
    id: z.string().openapi({ description: "Tenant id.", example: "ten_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name: z.string().openapi({ description: "Tenant (business) name.", example: "Acme Outfitters" }),
    brand_name: settingsFields.brand_name,
    default_country: z
      .string()
      .openapi({ description: "Country used to read national phone numbers.", example: "US" }),
    timezone: z.string().openapi({ description: "The business's own zone.", example: "America/New_York" }),
    support_contact: settingsFields.support_contact,
    quiet_hours: QuietHoursSchema,
    frequency_cap: FrequencyCapSchema,
    dedupe_window_hours: settingsFields.dedupe_window_hours,
    help_text: z.string().openapi({
      description: "Reply to HELP/INFO (the default when not set).",
      example: "Acme Outfitters: Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out.",
    }),
    stop_text: z.string().openapi({
      description: "Reply to STOP (the default when not set).",
      example:
        "Acme Outfitters: You're unsubscribed and won't get more texts from us. Reply START to resubscribe.",
    }),
    opt_out_footer: settingsFields.opt_out_footer,
    mps: operatorFields.mps,
    retention_days: operatorFields.retention_days,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Tenant");

export const CreatedTenantSchema = z
  .object({
    tenant: TenantSchema,
    api_key: z.string().openapi({
      description: "The tenant's first API key (all scopes). Shown once.",
      example: "hk_live_4fQx0c1UeXk2e8YbTtq0sZk5T9mWnV3aL7dRpQ2hJ6u",
    }),
  })
  .openapi("CreatedTenant");

export const tenantView = (t: TenantRow): z.infer<typeof TenantSchema> => ({
  id: t.id,
  name: t.name,
  brand_name: t.brandName,
  default_country: t.defaultCountry,
  timezone: t.timezone,
  support_contact: t.supportContact,
  quiet_hours: { start: t.quietHoursStart, end: t.quietHoursEnd },
  frequency_cap: { max_messages: t.frequencyCapMax, window_hours: t.frequencyCapWindowHours },
  dedupe_window_hours: t.dedupeWindowHours,
  help_text: t.helpText ?? defaultHelpText(t),
  stop_text: t.stopText ?? defaultStopText(t),
  opt_out_footer: t.optOutFooter,
  mps: t.mps,
  retention_days: t.retentionDays,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});

export const TenantListSchema = listOf(TenantSchema, "TenantList");
