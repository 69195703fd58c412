import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { serviceContext } from "../../services/context";
import { ingestEvent } from "../../services/events/ingest";
import { CreateEventSchema, EventResultSchema } from "./schema";

const createEventRoute = createRoute({
  method: "post",
  path: "/v1/events",
  operationId: "createEvent",
  tags: ["Events"],
  summary: "Report an event",
  description:
    "Runs every active program triggered by `name` for that contact (a new phone creates the contact) and applies `exit_on`. Honours `Idempotency-Key`.",
  security: apiKeySecurity,
  middleware: [requireScope("events:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateEventSchema) } },
  responses: {
    202: { description: "Accepted", content: json(EventResultSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

export const eventRoutes = createRouter().openapi(createEventRoute, async (c) => {
  const ctx = serviceContext(c.env, c.get("auth").tenantId, (p) => c.executionCtx.waitUntil(p));
  const result = await ingestEvent(ctx, c.req.valid("json"), { kind: "api" });
  return c.json(result, 202);
});
