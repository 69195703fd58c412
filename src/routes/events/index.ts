import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { ingestEvent } from "../../services/events/ingest";
import { CreateEventSchema, EventResultSchema } from "./schema";

const createEventRoute = createRoute({
  method: "post",
  path: "/v1/events",
  operationId: "createEvent",
  tags: ["Events"],
  summary: "Report an event",
  description:
    "Runs every active program triggered by `name` for that contact (a new phone creates the contact) and applies `exit_on`. " +
    "The event's identity is your `id`, else the `Idempotency-Key`: the same event reported again creates no second message. Honours `Idempotency-Key`.",
  security: apiKeySecurity,
  middleware: [requireScope("events:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateEventSchema) } },
  responses: {
    202: { description: "Accepted", content: json(EventResultSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const eventRoutes = createRouter().openapi(createEventRoute, async (c) => {
  const ctx = c.var.services;
  // The Idempotency-Key is the event's identity when the body has no `id` (PRODUCT.md, Events): a
  // retry after a 5xx (whose key the idempotency layer released) finds the same event.
  const key = c.req.header("idempotency-key");
  const result = await ingestEvent(
    ctx,
    c.req.valid("json"),
    { kind: "api" },
    key ? { kind: "idempotency_key", value: key } : null,
  );
  return c.json(result, 202);
});
