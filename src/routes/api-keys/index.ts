import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { insertApiKey, listApiKeys, revokeApiKey } from "../../services/api-keys/manage";
import { ApiKeyListSchema, apiKeyView, CreateApiKeySchema, CreatedApiKeySchema } from "./schema";

const tags = ["API keys"];

const createApiKeyRoute = createRoute({
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  tags,
  summary: "Create an API key",
  description: "The secret is in `key`, shown once.",
  security: apiKeySecurity,
  middleware: [requireScope("keys:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateApiKeySchema) } },
  responses: {
    201: { description: "Created", content: json(CreatedApiKeySchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

const listApiKeysRoute = createRoute({
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  tags,
  summary: "List API keys",
  security: apiKeySecurity,
  middleware: [requireScope("keys:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Keys, newest first", content: json(ApiKeyListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const revokeApiKeyRoute = createRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  operationId: "revokeApiKey",
  tags,
  summary: "Revoke an API key",
  description: "Revoked keys answer 401 from then on.",
  security: apiKeySecurity,
  middleware: [requireScope("keys:write")] as const,
  request: { params: IdParam("key_0mhx2k1a0AbCdEfGhIjKlMn") },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

export const apiKeyRoutes = createRouter()
  .openapi(createApiKeyRoute, async (c) => {
    const auth = c.get("auth");
    const { row, key } = await insertApiKey(c.var.services, c.req.valid("json"), auth);
    return c.json({ ...apiKeyView(row), key }, 201);
  })
  .openapi(listApiKeysRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listApiKeys({ ctx: c.var.services, input });
    return c.json(page(rows, input.limit, apiKeyView), 200);
  })
  .openapi(revokeApiKeyRoute, async (c) => {
    await revokeApiKey({ ctx: c.var.services, input: c.req.valid("param") });
    return c.body(null, 204);
  });
