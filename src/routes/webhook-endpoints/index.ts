import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  updateWebhookEndpoint,
} from "../../services/webhooks/endpoints";
import {
  CreatedWebhookEndpointSchema,
  CreateWebhookEndpointSchema,
  UpdateWebhookEndpointSchema,
  WebhookDeliveryListSchema,
  WebhookEndpointListSchema,
  WebhookEndpointSchema,
  webhookDeliveryView,
  webhookEndpointView,
} from "./schema";

const tags = ["Webhooks"];
const idParam = IdParam("whe_0mhx2k1a0AbCdEfGhIjKlMn");

const createEndpointRoute = createRoute({
  method: "post",
  path: "/v1/webhook-endpoints",
  operationId: "createWebhookEndpoint",
  tags,
  summary: "Subscribe a URL to events",
  description:
    "Deliveries are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `whsec_` secret returned once in `secret`, and retried with backoff for 24 h.",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateWebhookEndpointSchema) } },
  responses: {
    201: { description: "Created", content: json(CreatedWebhookEndpointSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listEndpointsRoute = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints",
  operationId: "listWebhookEndpoints",
  tags,
  summary: "List webhook endpoints",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Endpoints, newest first", content: json(WebhookEndpointListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getEndpointRoute = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints/{id}",
  operationId: "getWebhookEndpoint",
  tags,
  summary: "Read a webhook endpoint",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The endpoint", content: json(WebhookEndpointSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const updateEndpointRoute = createRoute({
  method: "patch",
  path: "/v1/webhook-endpoints/{id}",
  operationId: "updateWebhookEndpoint",
  tags,
  summary: "Change or re-enable a webhook endpoint",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:write")] as const,
  request: { params: idParam, body: { required: true, content: json(UpdateWebhookEndpointSchema) } },
  responses: {
    200: { description: "The updated endpoint", content: json(WebhookEndpointSchema) },
    ...errorResponses(400, 401, 403, 404, 413, 415, 422),
  },
});

const deleteEndpointRoute = createRoute({
  method: "delete",
  path: "/v1/webhook-endpoints/{id}",
  operationId: "deleteWebhookEndpoint",
  tags,
  summary: "Delete a webhook endpoint",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags,
  summary: "The delivery log of an endpoint",
  description:
    "Every event sent to this endpoint with its attempts, newest first. Finished deliveries are kept 30 days " +
    "(their payloads carry personal data); pending ones until they are delivered or fail.",
  security: apiKeySecurity,
  middleware: [requireScope("webhooks:read")] as const,
  request: { params: idParam, query: ListQuerySchema },
  responses: {
    200: { description: "Deliveries, newest first", content: json(WebhookDeliveryListSchema) },
    ...errorResponses(401, 403, 404, 422),
  },
});

export const webhookEndpointRoutes = createRouter()
  .openapi(createEndpointRoute, async (c) => {
    const ctx = c.var.services;
    const { row, secret } = await createWebhookEndpoint(ctx, c.req.valid("json"));
    return c.json({ ...webhookEndpointView(row), secret }, 201);
  })
  .openapi(listEndpointsRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listWebhookEndpoints(c.var.services, input);
    return c.json(page(rows, input.limit, webhookEndpointView), 200);
  })
  .openapi(getEndpointRoute, async (c) => {
    const row = await getWebhookEndpoint(c.var.services, c.req.valid("param").id);
    return c.json(webhookEndpointView(row), 200);
  })
  .openapi(updateEndpointRoute, async (c) => {
    const row = await updateWebhookEndpoint(c.var.services, c.req.valid("param").id, c.req.valid("json"));
    return c.json(webhookEndpointView(row), 200);
  })
  .openapi(deleteEndpointRoute, async (c) => {
    await deleteWebhookEndpoint(c.var.services, c.req.valid("param").id);
    return c.body(null, 204);
  })
  .openapi(listDeliveriesRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listWebhookDeliveries(c.var.services, c.req.valid("param").id, input);
    return c.json(page(rows, input.limit, webhookDeliveryView), 200);
  });
