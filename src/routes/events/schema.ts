import { z } from "@hono/zod-openapi";

export const EventContactRefSchema = z
  .union([
    z.strictObject({
      id: z.string().openapi({ description: "A contact id.", example: "ct_0mhx2k1a0AbCdEfGhIjKlMn" }),
    }),
    z.strictObject({
      phone: z
        .string()
        .openapi({ description: "A phone; a new one creates the contact.", example: "+14155550100" }),
    }),
    z.strictObject({
      external_id: z.string().openapi({ description: "Your id of an existing contact.", example: "cus_42" }),
    }),
  ])
  .openapi("EventContactRef", {
    description: "`{id}`, `{phone}` or `{external_id}`.",
    example: { phone: "+14155550100" },
  });

export const CreateEventSchema = z
  .strictObject({
    id: z.string().min(1).max(255).optional().openapi({
      description:
        "Your id of this event: its identity. Reporting the same id again (a retry, a crash, a partial failure) creates no second message; the answer describes the event as first stored. An id already used with another `name` or contact → 409. Without it, the `Idempotency-Key` is the identity; without both, every call is a new event.",
      example: "shop-1042-delay-1",
    }),
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and . _ : - only")
      .openapi({ description: "Event name; programs triggered by it run.", example: "order.delayed" }),
    contact: EventContactRefSchema,
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description: "Available to templates as `event.*`.",
        example: { order_name: "#1042", estimated_delivery_at: "2026-12-03" },
      }),
    occurred_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "When it happened (default now).", example: "2026-11-22T21:30:00.000Z" }),
  })
  .openapi("CreateEvent");

export const EventResultSchema = z
  .object({
    id: z.string().openapi({ description: "Event id.", example: "evt_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name: z.string().openapi({ description: "Event name.", example: "order.delayed" }),
    contact_id: z.string().openapi({ description: "The contact.", example: "ct_0mhx2k1a0AbCdEfGhIjKlMn" }),
    programs: z
      .array(
        z.object({
          program_id: z
            .string()
            .openapi({ description: "Program run.", example: "pg_0mhx2k1a0AbCdEfGhIjKlMn" }),
          message_id: z
            .string()
            .nullable()
            .openapi({ description: "The message created, if any.", example: "msg_0mhx2k1a0AbCdEfGhIjKlMn" }),
          outcome: z.string().openapi({
            description: "The message status, or `not_in_audience`, `exited`, `paused`.",
            example: "queued",
          }),
        }),
      )
      .openapi({
        description: "What each triggered program did.",
        example: [
          {
            program_id: "pg_0mhx2k1a0AbCdEfGhIjKlMn",
            message_id: "msg_0mhx2k1a0AbCdEfGhIjKlMn",
            outcome: "queued",
          },
        ],
      }),
  })
  .openapi("EventResult");
