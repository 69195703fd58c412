import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { getTenant, updateTenant } from "../../services/tenants/tenants";
import { TenantSchema, tenantView, UpdateTenantSchema } from "./schema";

export { operatorRoutes } from "./operator";

const getTenantRoute = createRoute({
  method: "get",
  path: "/v1/tenant",
  operationId: "getTenant",
  tags: ["Tenants"],
  summary: "Read your tenant's settings",
  description:
    "Includes the operator settings `mps` and `retention_days`, which this key can read but not change.",
  security: apiKeySecurity,
  responses: { 200: { description: "The tenant", content: json(TenantSchema) }, ...errorResponses(401) },
});

const updateTenantRoute = createRoute({
  method: "patch",
  path: "/v1/tenant",
  operationId: "updateTenant",
  tags: ["Tenants"],
  summary: "Change your tenant's settings",
  description:
    "Fields absent from the body are left as they were. Needs the `*` scope. The operator settings " +
    "(`mps`, `retention_days`) are not fields here: sending one is a 400 `Unknown field` naming it; " +
    "only the operator changes them (`PATCH /v1/tenants/{id}`).",
  security: apiKeySecurity,
  middleware: [requireScope("*")] as const,
  request: { body: { required: true, content: json(UpdateTenantSchema) } },
  responses: {
    200: { description: "The updated tenant", content: json(TenantSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

export const tenantRoutes = createRouter()
  .openapi(getTenantRoute, async (c) => {
    const tenant = await getTenant(c.var.services);
    return c.json(tenantView(tenant), 200);
  })
  .openapi(updateTenantRoute, async (c) => {
    const tenant = await updateTenant(c.var.services, c.req.valid("json"));
    return c.json(tenantView(tenant), 200);
  });
