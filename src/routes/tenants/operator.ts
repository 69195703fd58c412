import { createRoute } from "@hono/zod-openapi";
import { createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireAdmin } from "../../middleware/auth";
import { getTenantById, listTenants, updateTenantById } from "../../services/tenants/operator";
import { createTenant } from "../../services/tenants/tenants";
import {
  CreatedTenantSchema,
  CreateTenantSchema,
  TenantListSchema,
  TenantSchema,
  tenantView,
  UpdateOperatorSettingsSchema,
} from "./schema";

/**
 * The operator's routes (`/v1/tenants…`): Bearer ADMIN_TOKEN only. Any other credential — a
 * tenant's own API key included — is a 401, not a 403: the route's one security scheme is the
 * admin token, and a tenant key is not a lesser admin token but no credential for it at all.
 */
const tags = ["Tenants"];
const security = [{ adminToken: [] }];
const OPERATOR_ONLY =
  "Operator only: `Authorization: Bearer <ADMIN_TOKEN>`. Any other credential, a tenant's own API key included, gets 401.";
const TenantIdParam = IdParam("ten_0mhx2k1a0AbCdEfGhIjKlMn");

const createTenantRoute = createRoute({
  method: "post",
  path: "/v1/tenants",
  operationId: "createTenant",
  tags,
  summary: "Create a tenant (operator only)",
  description: `${OPERATOR_ONLY} Returns the tenant and its first API key, shown once.`,
  security,
  middleware: [requireAdmin] as const,
  request: { body: { required: true, content: json(CreateTenantSchema) } },
  responses: {
    201: { description: "Created", content: json(CreatedTenantSchema) },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});

const listTenantsRoute = createRoute({
  method: "get",
  path: "/v1/tenants",
  operationId: "listTenants",
  tags,
  summary: "List tenants (operator only)",
  description: `${OPERATOR_ONLY} Every tenant of the deployment, newest first.`,
  security,
  middleware: [requireAdmin] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Tenants, newest first", content: json(TenantListSchema) },
    ...errorResponses(401, 422),
  },
});

const getTenantByIdRoute = createRoute({
  method: "get",
  path: "/v1/tenants/{id}",
  operationId: "getTenantById",
  tags,
  summary: "Read a tenant (operator only)",
  description: OPERATOR_ONLY,
  security,
  middleware: [requireAdmin] as const,
  request: { params: TenantIdParam },
  responses: {
    200: { description: "The tenant", content: json(TenantSchema) },
    ...errorResponses(401, 404),
  },
});

const updateTenantByIdRoute = createRoute({
  method: "patch",
  path: "/v1/tenants/{id}",
  operationId: "updateTenantById",
  tags,
  summary: "Change a tenant's operator settings (operator only)",
  description:
    `${OPERATOR_ONLY} Changes \`mps\` (the tenant's share of the deployment, segments per second ` +
    "across all its carriers), `retention_days` and `name`; fields absent from the body are left as " +
    "they were. A new `mps` applies from the next dispatch batch. The tenant's other settings are " +
    "its own (`PATCH /v1/tenant`).",
  security,
  middleware: [requireAdmin] as const,
  request: {
    params: TenantIdParam,
    body: { required: true, content: json(UpdateOperatorSettingsSchema) },
  },
  responses: {
    200: { description: "The updated tenant", content: json(TenantSchema) },
    ...errorResponses(400, 401, 404, 413, 415, 422),
  },
});

export const operatorRoutes = createRouter()
  .openapi(createTenantRoute, async (c) => {
    const { tenant, apiKey } = await createTenant(c.var.baseServices, c.req.valid("json"));
    return c.json({ tenant: tenantView(tenant), api_key: apiKey }, 201);
  })
  .openapi(listTenantsRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listTenants({ ctx: c.var.baseServices, input });
    return c.json(page(rows, input.limit, tenantView), 200);
  })
  .openapi(getTenantByIdRoute, async (c) => {
    const tenant = await getTenantById({ ctx: c.var.baseServices, input: c.req.valid("param") });
    return c.json(tenantView(tenant), 200);
  })
  .openapi(updateTenantByIdRoute, async (c) => {
    const { id } = c.req.valid("param");
    const tenant = await updateTenantById({
      ctx: c.var.baseServices,
      input: { id, settings: c.req.valid("json") },
    });
    return c.json(tenantView(tenant), 200);
  });
