import { z } from "@hono/zod-openapi";
import type { ProgramRow } from "../../db/rows";
import { FilterSchema } from "../../domain/segment-filter";
import { listOf } from "../../lib/pagination";
import { HhMmSchema, TimestampSchema } from "../../lib/validators";
import { PROGRAM_KINDS } from "../../services/programs/defaults";

const EventName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and . _ : - only")
  .openapi({ description: "Event name.", example: "order.delayed" });

const EventTrigger = z
  .strictObject({
    type: z.literal("event").openapi({ description: "Runs when this event arrives.", example: "event" }),
    event: EventName,
    delay_minutes: z
      .number()
      .int()
      .min(0)
      .max(525_600)
      .optional()
      .openapi({ description: "Send this many minutes after the event.", example: 2880 }),
  })
  .openapi("EventTrigger");

const DateTrigger = z
  .strictObject({
    type: z.literal("date").openapi({ description: "Runs on a date of the contact.", example: "date" }),
    field: z.string().openapi({
      description: '`"birthday"` or `"attributes.<key>"` holding a `YYYY-MM-DD` date.',
      example: "attributes.billing_due_date",
    }),
    offset_days: z
      .number()
      .int()
      .min(-366)
      .max(366)
      .optional()
      .openapi({ description: "Days after (negative: before) the date. Default 0.", example: -3 }),
    at: HhMmSchema.optional().openapi({
      description: "Contact-local time of day. Default 10:00.",
      example: "10:00",
    }),
    repeat: z
      .enum(["yearly", "none"])
      .optional()
      .openapi({ description: '"yearly" (default for birthday) or "none".', example: "none" }),
  })
  .openapi("DateTrigger");

const ScheduleTrigger = z
  .strictObject({
    type: z.literal("schedule").openapi({ description: "Runs on a cron schedule.", example: "schedule" }),
    cron: z
      .string()
      .min(9)
      .max(100)
      .openapi({ description: "5-field cron expression.", example: "0 10 * * 1" }),
    timezone: z.string().optional().openapi({
      description: '`"contact"` (default: the cron time in each contact\'s own zone) or an IANA zone.',
      example: "contact",
    }),
  })
  .openapi("ScheduleTrigger");

const ManualTrigger = z
  .strictObject({
    type: z
      .literal("manual")
      .openapi({ description: "Sent only by POST /v1/programs/{id}/run.", example: "manual" }),
  })
  .openapi("ManualTrigger");

export const TriggerSchema = z
  .discriminatedUnion("type", [EventTrigger, DateTrigger, ScheduleTrigger, ManualTrigger])
  .openapi("ProgramTrigger", {
    description: "What makes the program send. Each kind has a default.",
    example: { type: "event", event: "order.delayed" },
  });

export const AudienceSchema = z
  .union([
    z.strictObject({
      segment_id: z
        .string()
        .openapi({ description: "A segment of this tenant.", example: "seg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    }),
    z.strictObject({ filter: FilterSchema }),
  ])
  .openapi("ProgramAudience", {
    description:
      "`{segment_id}` or `{filter}`; absent = all subscribed contacts. Unsubscribed contacts never count.",
    example: { filter: { field: "city", op: "eq", value: "Austin" } },
  });

const fields = {
  name: z.string().min(1).max(200).openapi({ description: "Program name.", example: "Delivery delays" }),
  category: z.enum(["transactional", "marketing"]).openapi({
    description:
      "transactional (default for welcome, billing, delivery_delay) or marketing (opt-out footer, frequency cap).",
    example: "transactional",
  }),
  department: z
    .string()
    .max(100)
    .nullable()
    .openapi({ description: "The team sending it (for reporting).", example: "Customer care" }),
  template: z.string().min(1).max(2000).openapi({
    description:
      "Liquid template. Variables: `contact.*` (incl. `attributes.*`, `age`), `event.*`, `tenant.brand_name`, `program.name`. Dates render in the contact's zone. Checked at write by a trial render with empty data, bounded like every render (rendering steps, characters produced): past them, past 1,600 characters, or with a file tag (`include`, `render`, `layout`) → 422. A message whose render fails on a contact's real data ends `failed` / `template_error`.",
    example:
      "Hi {{ contact.first_name | default: 'there' }}, your order {{ event.order_name }} is on its way.",
  }),
  trigger: TriggerSchema,
  audience: AudienceSchema.nullable(),
  quiet_hours: z
    .enum(["enforce", "ignore"])
    .openapi({ description: "Hold messages due inside quiet hours (default enforce).", example: "enforce" }),
  carrier_id: z
    .string()
    .nullable()
    .openapi({ description: "Pin a carrier (no failover).", example: "car_0mhx2k1a0AbCdEfGhIjKlMn" }),
  validity_hours: z.number().int().min(1).max(168).openapi({
    description: "Expire instead of arriving later than this after its due time (default 24).",
    example: 24,
  }),
  exit_on: z
    .array(EventName)
    .max(20)
    .openapi({
      description: "Events that stop this program for that contact.",
      example: ["payment.received"],
    }),
};

const StatusInput = z
  .enum(["active", "paused"])
  .openapi({ description: "active (default) or paused.", example: "active" });

export const CreateProgramSchema = z
  .strictObject({
    name: fields.name,
    kind: z
      .enum(PROGRAM_KINDS)
      .openapi({ description: "Program kind; sets the defaults.", example: "delivery_delay" }),
    category: fields.category.optional(),
    department: fields.department.optional(),
    template: fields.template.optional(),
    trigger: fields.trigger.optional(),
    audience: fields.audience.optional(),
    status: StatusInput.optional(),
    quiet_hours: fields.quiet_hours.optional(),
    carrier_id: fields.carrier_id.optional(),
    validity_hours: fields.validity_hours.optional(),
    exit_on: fields.exit_on.optional(),
  })
  .openapi("CreateProgram");

export const UpdateProgramSchema = z
  .strictObject({
    name: fields.name.optional(),
    category: fields.category.optional(),
    department: fields.department.optional(),
    template: fields.template.optional(),
    trigger: fields.trigger.optional(),
    audience: fields.audience.optional(),
    status: StatusInput.optional(),
    quiet_hours: fields.quiet_hours.optional(),
    carrier_id: fields.carrier_id.optional(),
    validity_hours: fields.validity_hours.optional(),
    exit_on: fields.exit_on.optional(),
  })
  .openapi("UpdateProgram");

export const ProgramSchema = z
  .object({
    id: z.string().openapi({ description: "Program id.", example: "pg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name: fields.name,
    kind: z.enum(PROGRAM_KINDS).openapi({ description: "Program kind.", example: "delivery_delay" }),
    category: fields.category,
    department: fields.department,
    template: fields.template,
    trigger: fields.trigger,
    audience: fields.audience,
    status: z
      .enum(["active", "paused", "archived"])
      .openapi({ description: "active, paused or archived (deleted).", example: "active" }),
    quiet_hours: fields.quiet_hours,
    carrier_id: fields.carrier_id,
    validity_hours: fields.validity_hours,
    exit_on: fields.exit_on,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Program");

export const ProgramListSchema = listOf(ProgramSchema, "ProgramList");

export const programView = (p: ProgramRow): z.infer<typeof ProgramSchema> => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  category: p.category,
  department: p.department,
  template: p.template,
  trigger: p.trigger as z.infer<typeof TriggerSchema>,
  audience: (p.audience ?? null) as z.infer<typeof AudienceSchema> | null,
  status: p.status,
  quiet_hours: p.quietHours,
  carrier_id: p.carrierId,
  validity_hours: p.validityHours,
  exit_on: p.exitOn,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

export const PreviewProgramSchema = z
  .strictObject({
    contact_id: z
      .string()
      .optional()
      .openapi({ description: "Preview for this contact.", example: "ct_0mhx2k1a0AbCdEfGhIjKlMn" }),
    contact: z
      .strictObject({
        phone: z.string().optional().openapi({ description: "Phone.", example: "+14155550100" }),
        first_name: z.string().nullable().optional().openapi({ description: "First name.", example: "Ana" }),
        last_name: z.string().nullable().optional().openapi({ description: "Last name.", example: "Diaz" }),
        email: z
          .string()
          .nullable()
          .optional()
          .openapi({ description: "Email.", example: "ana@example.com" }),
        external_id: z.string().nullable().optional().openapi({ description: "Your id.", example: "cus_42" }),
        timezone: z
          .string()
          .nullable()
          .optional()
          .openapi({ description: "IANA zone.", example: "America/Chicago" }),
        locale: z.string().nullable().optional().openapi({ description: "Locale.", example: "en-US" }),
        birthday: z
          .string()
          .nullable()
          .optional()
          .openapi({ description: "YYYY-MM-DD or --MM-DD.", example: "1990-04-12" }),
        attributes: z
          .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
          .optional()
          .openapi({ description: "Attributes.", example: { billing_due_date: "2026-12-04" } }),
      })
      .optional()
      .openapi({
        description: "An inline, unsaved contact to preview with.",
        example: { phone: "+14155550100", first_name: "Ana" },
      }),
    event: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description: "`event.*` data.",
        example: { order_name: "#1042", estimated_delivery_at: "2026-12-03" },
      }),
  })
  .refine((b) => !(b.contact_id && b.contact), {
    message: "give contact_id or contact, not both",
    path: ["contact"],
  })
  .openapi("PreviewProgram");

export const PreviewSchema = z
  .object({
    body: z
      .string()
      .openapi({ description: "The text the contact would get, footer included.", example: "Hi Ana, …" }),
    encoding: z.enum(["GSM-7", "UCS-2"]).openapi({ description: "SMS encoding.", example: "GSM-7" }),
    segments: z.number().int().openapi({ description: "Billed SMS parts.", example: 1 }),
    characters: z.number().int().openapi({ description: "Unicode code points.", example: 112 }),
    warnings: z
      .array(z.string())
      .openapi({ description: "What to fix before sending.", example: ["’ forces UCS-2"] }),
  })
  .openapi("ProgramPreview");

export const RunSchema = z
  .object({
    run_id: z.string().openapi({ description: "Run id.", example: "run_0mhx2k1a0AbCdEfGhIjKlMn" }),
    audience_count: z.number().int().openapi({
      description: "Contacts that will be messaged (subscribed, in the audience).",
      example: 1200,
    }),
  })
  .openapi("ProgramRun");

export const StatsSchema = z
  .object({
    messages: z
      .record(z.string(), z.number().int())
      .openapi({ description: "Message count by status.", example: { delivered: 950, suppressed: 12 } }),
    suppressed_by_reason: z
      .record(z.string(), z.number().int())
      .openapi({ description: "Suppressed messages by reason.", example: { opted_out: 10, duplicate: 2 } }),
    segments_sent: z
      .number()
      .int()
      .openapi({ description: "Segments handed to carriers (sent, delivered, undelivered).", example: 1003 }),
  })
  .openapi("ProgramStats");
