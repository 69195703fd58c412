import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { requireAdmin, requireScope } from "../../middleware/auth";
import { createTenant, getTenant, updateTenant } from "../../services/tenants/tenants";
import {
  CreatedTenantSchema,
  CreateTenantSchema,
  TenantSchema,
  tenantView,
  UpdateTenantSchema,
} from "./schema";

const createTenantRoute = createRoute({
  method: "post",
  path: "/v1/tenants",
  operationId: "createTenant",
  tags: ["Tenants"],
  summary: "Create a tenant (operator only)",
  description:
    "Needs `Authorization: Bearer <ADMIN_TOKEN>`. Returns the tenant and its first API key, shown once.",
  security: [{ adminToken: [] }],
  middleware: [requireAdmin] as const,
  request: { body: { required: true, content: json(CreateTenantSchema) } },
  responses: {
    201: { description: "Created", content: json(CreatedTenantSchema) },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});

const getTenantRoute = createRoute({
  method: "get",
  path: "/v1/tenant",
  operationId: "getTenant",
  tags: ["Tenants"],
  summary: "Read your tenant's settings",
  security: apiKeySecurity,
  responses: { 200: { description: "The tenant", content: json(TenantSchema) }, ...errorResponses(401) },
});

const updateTenantRoute = createRoute({
  method: "patch",
  path: "/v1/tenant",
  operationId: "updateTenant",
  tags: ["Tenants"],
  summary: "Change your tenant's settings",
  description: "Fields absent from the body are left as they were. Needs the `*` scope.",
  security: apiKeySecurity,
  middleware: [requireScope("*")] as const,
  request: { body: { required: true, content: json(UpdateTenantSchema) } },
  responses: {
    200: { description: "The updated tenant", content: json(TenantSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

export const tenantRoutes = createRouter()
  .openapi(createTenantRoute, async (c) => {
    const input = c.req.valid("json");
    const { tenant, apiKey } = await createTenant(c.var.baseServices, input);
    return c.json({ tenant: tenantView(tenant), api_key: apiKey }, 201);
  })
  .openapi(getTenantRoute, async (c) => {
    const tenant = await getTenant(c.var.services);
    return c.json(tenantView(tenant), 200);
  })
  .openapi(updateTenantRoute, async (c) => {
    const tenant = await updateTenant(c.var.services, c.req.valid("json"));
    return c.json(tenantView(tenant), 200);
  });
