import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  listIntegrations,
  publicOrigin,
} from "../../services/integrations/integrations";
import {
  CreatedIntegrationSchema,
  CreateIntegrationSchema,
  IntegrationListSchema,
  IntegrationSchema,
  integrationView,
} from "./schema";

const tags = ["Integrations"];
const idParam = IdParam("int_0mhx2k1a0AbCdEfGhIjKlMn");

const createIntegrationRoute = createRoute({
  method: "post",
  path: "/v1/integrations",
  operationId: "createIntegration",
  tags,
  summary: "Connect a storefront",
  description:
    "`shopify` takes the store's webhook secret (write-only); `standard` generates a `whsec_` secret returned once in `secret`. Point the storefront at `webhook_url`.",
  security: apiKeySecurity,
  middleware: [requireScope("integrations:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateIntegrationSchema) } },
  responses: {
    201: { description: "Created", content: json(CreatedIntegrationSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listIntegrationsRoute = createRoute({
  method: "get",
  path: "/v1/integrations",
  operationId: "listIntegrations",
  tags,
  summary: "List integrations",
  security: apiKeySecurity,
  middleware: [requireScope("integrations:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Integrations, newest first", content: json(IntegrationListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getIntegrationRoute = createRoute({
  method: "get",
  path: "/v1/integrations/{id}",
  operationId: "getIntegration",
  tags,
  summary: "Read an integration",
  security: apiKeySecurity,
  middleware: [requireScope("integrations:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The integration", content: json(IntegrationSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const deleteIntegrationRoute = createRoute({
  method: "delete",
  path: "/v1/integrations/{id}",
  operationId: "deleteIntegration",
  tags,
  summary: "Disconnect a storefront",
  description: "Its hook URL answers 404 from then on.",
  security: apiKeySecurity,
  middleware: [requireScope("integrations:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export const integrationRoutes = createRouter()
  .openapi(createIntegrationRoute, async (c) => {
    const ctx = c.var.services;
    const origin = publicOrigin(c.env, c.req.url);
    const { row, secret } = await createIntegration(ctx, c.req.valid("json"));
    return c.json({ ...integrationView(row, origin), ...(secret ? { secret } : {}) }, 201);
  })
  .openapi(listIntegrationsRoute, async (c) => {
    const input = c.req.valid("query");
    const origin = publicOrigin(c.env, c.req.url);
    const rows = await listIntegrations(c.var.services, input);
    return c.json(
      page(rows, input.limit, (r) => integrationView(r, origin)),
      200,
    );
  })
  .openapi(getIntegrationRoute, async (c) => {
    const row = await getIntegration(c.var.services, c.req.valid("param").id);
    return c.json(integrationView(row, publicOrigin(c.env, c.req.url)), 200);
  })
  .openapi(deleteIntegrationRoute, async (c) => {
    await deleteIntegration(c.var.services, c.req.valid("param").id);
    return c.body(null, 204);
  });
