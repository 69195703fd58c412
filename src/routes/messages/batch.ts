import { createRoute, z } from "@hono/zod-openapi";
import { BatchRowFailureSchema, parseRows } from "../../lib/batch";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { IdempotencyKeyHeaderSchema, idempotency } from "../../middleware/idempotency";
import { type ApiSendInput, sendApiMessages } from "../../services/messages/send";
import { MessageStatusSchema, SendMessageSchema } from "./schema";

/** At most this many rows per batch (PRODUCT.md, Messages). */
export const MESSAGE_BATCH_MAX = 1000;

export const MessageBatchInputSchema = z
  .strictObject({
    messages: z
      .array(
        // Validated row by row (a bad row goes to failed[], not a 400/422 of the whole batch), documented as the single body.
        z.unknown().openapi({
          allOf: [{ $ref: "#/components/schemas/SendMessage" }],
          description: "A `POST /v1/messages` body (SendMessage), validated on its own.",
        }),
      )
      .min(1)
      .max(MESSAGE_BATCH_MAX)
      .openapi({
        description:
          "1–1,000 `POST /v1/messages` bodies (the SendMessage schema). Each row is validated and decided on its own; more than 1,000 rows → 422 naming `messages`.",
        example: [
          { to: "+14155552671", body: "Your code is 482913" },
          {
            contact_id: "ct_0mhx2k1a0AbCdEfGhIjKlMn",
            template: "Hi {{ contact.first_name }}, order {{ order_name }} has shipped.",
            data: { order_name: "#1042" },
          },
        ],
      }),
  })
  .openapi("MessageBatchInput");

export const MessageBatchAcceptedSchema = z
  .object({
    index: z.number().int().openapi({ description: "Position of the row in `messages`.", example: 0 }),
    id: z.string().openapi({ description: "The message created.", example: "msg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    status: MessageStatusSchema,
    status_reason: z.string().nullable().openapi({
      description:
        "As on the Message: why it is suppressed (`opted_out`, `no_consent`, `duplicate`, `frequency_cap`…).",
      example: null,
    }),
  })
  .openapi("MessageBatchAccepted", {
    description: "A row that became a message, with the status a single send would have answered.",
  });

export const MessageBatchResultSchema = z
  .object({
    accepted: z.array(MessageBatchAcceptedSchema).openapi({
      description: "Rows that became messages, in input order (a `suppressed` message is accepted too).",
      example: [{ index: 0, id: "msg_0mhx2k1a0AbCdEfGhIjKlMn", status: "queued", status_reason: null }],
    }),
    failed: z.array(BatchRowFailureSchema).openapi({
      description:
        "Rows that created nothing, in input order, with the 422 errors a single send would have answered.",
      example: [{ index: 1, errors: [{ path: "contact_id", message: "does not exist" }] }],
    }),
  })
  .openapi("MessageBatchResult");

const sendBatchRoute = createRoute({
  method: "post",
  path: "/v1/messages/batch",
  operationId: "sendMessageBatch",
  tags: ["Messages"],
  summary: "Send up to 1,000 messages",
  description:
    "Each row is a `POST /v1/messages` body and passes exactly the rules of a single send: the same validation, " +
    "recipient and template checks, and sending rules 1–5 decided now (rows see each other, in order, as consecutive " +
    "single sends would: a repeated body to one phone is a `duplicate`, marketing rows count toward the frequency cap). " +
    "A bad row never fails the rest: it goes to `failed` by index with the errors of the 422 a single send would " +
    "answer, field paths relative to the row (`to`, `contact_id`, `template`); an unknown field is such an error " +
    "(`is not a known field`), not a 400. One `Idempotency-Key` covers the whole batch: a replay returns the first " +
    "answer and creates nothing new. The work is a handful of D1 round trips, not one per row.",
  security: apiKeySecurity,
  middleware: [requireScope("messages:write"), idempotency] as const,
  request: {
    headers: IdempotencyKeyHeaderSchema,
    body: { required: true, content: json(MessageBatchInputSchema) },
  },
  responses: {
    202: { description: "What was accepted and what was not", content: json(MessageBatchResultSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const messageBatchRoutes = createRouter().openapi(sendBatchRoute, async (c) => {
  const { valid, failed } = parseRows(c.req.valid("json").messages, SendMessageSchema);
  const outcomes = await sendApiMessages(
    c.var.services,
    valid.map((v): ApiSendInput => v.input),
  );
  const accepted: z.infer<typeof MessageBatchAcceptedSchema>[] = [];
  outcomes.forEach((o, k) => {
    const index = valid[k]?.index ?? -1;
    if (o.ok)
      accepted.push({
        index,
        id: o.message.id,
        status: o.message.status as z.infer<typeof MessageStatusSchema>,
        status_reason: o.message.statusReason,
      });
    else failed.push({ index, errors: o.errors });
  });
  failed.sort((a, b) => a.index - b.index);
  return c.json({ accepted, failed }, 202);
});
