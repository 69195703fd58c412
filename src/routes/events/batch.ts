import { createRoute, z } from "@hono/zod-openapi";
import { BatchRowFailureSchema, parseRows } from "../../lib/batch";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { IdempotencyKeyHeaderSchema, idempotency } from "../../middleware/idempotency";
import { ingestEventBatch } from "../../services/events/batch";
import type { EventInput } from "../../services/events/ingest";
import { CreateEventSchema, EventResultSchema } from "./schema";

/** At most this many rows per batch (PRODUCT.md, Events). */
export const EVENT_BATCH_MAX = 1000;

export const EventBatchInputSchema = z
  .strictObject({
    events: z
      .array(
        // Validated row by row (a bad row goes to failed[], not a 400/422 of the whole batch), documented as the single body.
        z.unknown().openapi({
          allOf: [{ $ref: "#/components/schemas/CreateEvent" }],
          description: "A `POST /v1/events` body (CreateEvent), validated on its own.",
        }),
      )
      .min(1)
      .max(EVENT_BATCH_MAX)
      .openapi({
        description:
          "1–1,000 `POST /v1/events` bodies (the CreateEvent schema). Each row is validated and ingested on its own; more than 1,000 rows → 422 naming `events`.",
        example: [
          { id: "shop-1042-delay-1", name: "order.delayed", contact: { phone: "+14155550100" } },
          { name: "payment.received", contact: { external_id: "cus_42" } },
        ],
      }),
  })
  .openapi("EventBatchInput");

export const EventBatchAcceptedSchema = EventResultSchema.pick({ id: true, contact_id: true, programs: true })
  .extend({
    index: z.number().int().openapi({ description: "Position of the row in `events`.", example: 0 }),
  })
  .openapi("EventBatchAccepted", {
    description: "A row that was ingested, answered as `POST /v1/events` answers it.",
  });

export const EventBatchResultSchema = z
  .object({
    accepted: z.array(EventBatchAcceptedSchema).openapi({
      description: "Rows ingested, in input order.",
      example: [
        {
          index: 0,
          id: "evt_0mhx2k1a0AbCdEfGhIjKlMn",
          contact_id: "ct_0mhx2k1a0AbCdEfGhIjKlMn",
          programs: [
            {
              program_id: "pg_0mhx2k1a0AbCdEfGhIjKlMn",
              message_id: "msg_0mhx2k1a0AbCdEfGhIjKlMn",
              outcome: "queued",
            },
          ],
        },
      ],
    }),
    failed: z.array(BatchRowFailureSchema).openapi({
      description:
        "Rows not ingested, in input order, with the errors a single `POST /v1/events` would have answered (422, or 409 for an `id` used with another name or contact).",
      example: [{ index: 1, errors: [{ path: "contact.external_id", message: "does not exist" }] }],
    }),
  })
  .openapi("EventBatchResult");

const eventBatchRoute = createRoute({
  method: "post",
  path: "/v1/events/batch",
  operationId: "createEventBatch",
  tags: ["Events"],
  summary: "Report up to 1,000 events",
  description:
    "Each row is a `POST /v1/events` body and is handled as that single event would be, in input order (a new phone " +
    "creates its contact; triggered programs run; `exit_on` cancels). A bad row — invalid, with an unknown field, " +
    "naming a contact that does not exist, or reusing an event `id` for another name or contact — goes to `failed` by " +
    "index with field paths relative to the row (`contact.id`, `name`); the others are stored. " +
    "An event's identity is the row's own `id`; a row without one, in a batch sent with an `Idempotency-Key`, has the " +
    "identity `<Idempotency-Key>:<index>`, so the same batch retried with the same key (even after a 5xx, once the " +
    "key was released) creates no second message; without either, every row is a new event. One `Idempotency-Key` " +
    "covers the whole batch: a replay returns the first answer.",
  security: apiKeySecurity,
  middleware: [requireScope("events:write"), idempotency] as const,
  request: {
    headers: IdempotencyKeyHeaderSchema,
    body: { required: true, content: json(EventBatchInputSchema) },
  },
  responses: {
    202: { description: "What was ingested and what was not", content: json(EventBatchResultSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const eventBatchRoutes = createRouter().openapi(eventBatchRoute, async (c) => {
  const { valid, failed } = parseRows(c.req.valid("json").events, CreateEventSchema);
  const result = await ingestEventBatch(
    c.var.services,
    valid.map((v) => ({ index: v.index, input: v.input as EventInput })),
    c.req.header("idempotency-key"),
  );
  const accepted = result.accepted.map(({ index, event }) => ({
    index,
    id: event.id,
    contact_id: event.contact_id,
    programs: event.programs,
  }));
  const allFailed = [...failed, ...result.failed].sort((a, b) => a.index - b.index);
  return c.json({ accepted, failed: allFailed }, 202);
});
