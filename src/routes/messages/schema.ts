import { z } from "@hono/zod-openapi";
import { ListQuerySchema, listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import { MESSAGE_STATUSES } from "../../services/messages/status";

const nullableTs = (description: string, example: string | null) =>
  z.string().nullable().openapi({ description, example });

export const MessageStatusSchema = z.enum(MESSAGE_STATUSES).openapi({
  description:
    "`scheduled` (waiting for `send_at` or quiet hours) → `queued` → `sending` → `sent` → `delivered` | `undelivered`; or `failed`, `expired`, `canceled`, `suppressed`.",
  example: "queued",
});

export const MessageSchema = z
  .object({
    id: z.string().openapi({ description: "Message id.", example: "msg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    contact_id: z.string().nullable().openapi({
      description: "The contact it was sent to, when there is one.",
      example: "ct_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
    program_id: z
      .string()
      .nullable()
      .openapi({ description: "The program that created it; null for API sends.", example: null }),
    to: z.string().openapi({ description: "Recipient, E.164.", example: "+14155552671" }),
    from: z
      .string()
      .nullable()
      .openapi({ description: "Sender number, set when a carrier takes it.", example: "+14155550100" }),
    body: z.string().openapi({
      description: "The text as sent, opt-out footer included.",
      example: "Your order #1042 has shipped.",
    }),
    encoding: z.enum(["GSM-7", "UCS-2"]).openapi({
      description: "GSM-7 when every character fits the GSM alphabet, else UCS-2.",
      example: "GSM-7",
    }),
    segments: z
      .number()
      .int()
      .openapi({ description: "Parts the carrier bills (160/153 or 70/67).", example: 1 }),
    status: MessageStatusSchema,
    status_reason: z.string().nullable().openapi({
      description:
        "Why it is suppressed (`opted_out`, `no_consent`, `frequency_cap`, `duplicate`, `exited`, `invalid_number`, `missing_data`) or failed (the carrier's error, `carrier_deleted`, `unknown_outcome`, `template_error`: the template could not be rendered within Herald's limits or rendered past 1,600 characters, `error_message` says why), expired (`validity_ended`) or canceled (`exited`, `opted_out` after STOP, `contact_deleted`, `program_archived`; null when canceled through the API or with its program).",
      example: null,
    }),
    scheduled_at: nullableTs(
      "When it is due to go to a carrier (send_at, or the end of quiet hours).",
      "2026-11-22T21:30:00.000Z",
    ),
    sent_at: nullableTs("When the carrier accepted it.", null),
    delivered_at: nullableTs("When the carrier reported delivery.", null),
    carrier_id: z
      .string()
      .nullable()
      .openapi({ description: "The carrier used or pinned; null for the implicit sandbox.", example: null }),
    carrier_message_id: z
      .string()
      .nullable()
      .openapi({ description: "The carrier's id for it (Twilio SID…).", example: null }),
    error_code: z
      .string()
      .nullable()
      .openapi({ description: "The carrier's error code, when it failed.", example: null }),
    error_message: z
      .string()
      .nullable()
      .openapi({ description: "The carrier's error text, when it failed.", example: null }),
    attempts: z.number().int().openapi({ description: "Carrier calls made so far.", example: 0 }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Message");

export type MessageView = z.infer<typeof MessageSchema>;

export const MessageEventSchema = z
  .object({
    status: MessageStatusSchema,
    at: TimestampSchema,
    detail: z.string().nullable().openapi({
      description: "Why it changed (reason, carrier error…).",
      example: "quiet hours until 2026-11-23T13:00:00.000Z",
    }),
  })
  .openapi("MessageEvent");

export const MessageDetailSchema = MessageSchema.extend({
  events: z.array(MessageEventSchema).openapi({ description: "Every status change, oldest first." }),
}).openapi("MessageDetail");

export const MessageListSchema = listOf(MessageSchema, "MessageList");

export const SendMessageSchema = z
  .strictObject({
    to: z.string().min(1).max(40).optional().openapi({
      description:
        "Recipient: E.164, or national form read with the tenant's default country. Give `to` or `contact_id`.",
      example: "+14155552671",
    }),
    contact_id: z.string().min(1).max(64).optional().openapi({
      description: "Send to this contact's phone. Give `to` or `contact_id`.",
      example: "ct_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
    body: z.string().min(1).max(1600).optional().openapi({
      description:
        "The text. Give `body` or `template`. At most 1,600 characters with the opt-out footer that marketing messages get (else 422).",
      example: "Your code is 482913",
    }),
    template: z.string().min(1).max(2000).optional().openapi({
      description:
        "Liquid template rendered with `data`, `contact.*` and `tenant.brand_name`. A variable nothing fills, a render past Herald's limits (rendering steps, characters produced) or a body past 1,600 characters (opt-out footer included) → 422. No file tags (`include`, `render`, `layout`).",
      example:
        "Hi {{ contact.first_name | default: 'there' }}, order {{ order_name }} ships {{ ship_date }}.",
    }),
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description: "Variables for `template`.",
        example: { order_name: "#1042", ship_date: "Thu Dec 3" },
      }),
    send_at: z.iso.datetime({ offset: true }).optional().openapi({
      description: "Send later (ISO-8601). Absent or past = now.",
      example: "2026-11-23T15:00:00.000Z",
    }),
    category: z.enum(["transactional", "marketing"]).optional().openapi({
      description:
        "`transactional` (default) or `marketing` (consent, frequency cap and opt-out footer apply).",
      example: "transactional",
    }),
    quiet_hours: z.enum(["enforce", "ignore"]).optional().openapi({
      description:
        "Defer sends due inside the contact's quiet hours. Default `ignore` for transactional, `enforce` for marketing.",
      example: "ignore",
    }),
    carrier_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "Pin a carrier (no failover).", example: "car_0mhx2k1a0AbCdEfGhIjKlMn" }),
    validity_hours: z.number().int().min(1).max(72).optional().openapi({
      description:
        "Hours after its due time (or the end of quiet hours) after which it expires instead of arriving late. Default 24.",
      example: 24,
    }),
  })
  .openapi("SendMessage");

export type SendMessageInput = z.infer<typeof SendMessageSchema>;

const queryParam = (name: string, description: string, example: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description, example, param: { name, in: "query" } });

export const MessageListQuerySchema = ListQuerySchema.extend({
  contact_id: queryParam("contact_id", "Only messages to this contact.", "ct_0mhx2k1a0AbCdEfGhIjKlMn"),
  program_id: queryParam("program_id", "Only messages of this program.", "pg_0mhx2k1a0AbCdEfGhIjKlMn"),
  status: MessageStatusSchema.optional().openapi({
    description: "Only messages in this status.",
    example: "delivered",
    param: { name: "status", in: "query" },
  }),
});

export type MessageListQuery = z.infer<typeof MessageListQuerySchema>;

/** The Message object of the API and of every `message.*` webhook (one field list: services/messages/payload.ts). */
export { messageView } from "../../services/messages/payload";
