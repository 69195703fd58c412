import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { callbackTokenFor } from "../../services/carriers/callback-token";
import type { CarrierRow } from "../../services/carriers/config";
import {
  createCarrier,
  deleteCarrier,
  getCarrier,
  listCarriers,
  updateCarrier,
} from "../../services/carriers/manage";
import {
  CarrierListSchema,
  CarrierSchema,
  CreateCarrierSchema,
  carrierView,
  UpdateCarrierSchema,
} from "./schema";

const tags = ["Carriers"];

/** The view with the carrier's callback URLs complete (a Sinch carrier's carry its secret token). */
const view = async (env: { ENCRYPTION_KEY: string }, row: CarrierRow) =>
  carrierView(row, await callbackTokenFor(env, row));
const idParam = IdParam("car_0mhx2k1a0AbCdEfGhIjKlMn");

const createCarrierRoute = createRoute({
  method: "post",
  path: "/v1/carriers",
  operationId: "createCarrier",
  tags,
  summary: "Add a carrier",
  description:
    "Credentials are write-only (encrypted at rest, never returned). The response carries the callback " +
    "URLs to paste in the carrier's console.",
  security: apiKeySecurity,
  middleware: [requireScope("carriers:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateCarrierSchema) } },
  responses: {
    201: { description: "Created", content: json(CarrierSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listCarriersRoute = createRoute({
  method: "get",
  path: "/v1/carriers",
  operationId: "listCarriers",
  tags,
  summary: "List carriers",
  security: apiKeySecurity,
  middleware: [requireScope("carriers:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Carriers, newest first", content: json(CarrierListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getCarrierRoute = createRoute({
  method: "get",
  path: "/v1/carriers/{id}",
  operationId: "getCarrier",
  tags,
  summary: "Get a carrier",
  security: apiKeySecurity,
  middleware: [requireScope("carriers:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The carrier", content: json(CarrierSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const updateCarrierRoute = createRoute({
  method: "patch",
  path: "/v1/carriers/{id}",
  operationId: "updateCarrier",
  tags,
  summary: "Update a carrier",
  description:
    "Fields absent from the body are left as they were; `credentials`, when given, replace the old ones.",
  security: apiKeySecurity,
  middleware: [requireScope("carriers:write")] as const,
  request: { params: idParam, body: { required: true, content: json(UpdateCarrierSchema) } },
  responses: {
    200: { description: "The updated carrier", content: json(CarrierSchema) },
    ...errorResponses(400, 401, 403, 404, 413, 415, 422),
  },
});

const deleteCarrierRoute = createRoute({
  method: "delete",
  path: "/v1/carriers/{id}",
  operationId: "deleteCarrier",
  tags,
  summary: "Delete a carrier",
  description:
    "Soft delete: its callbacks still verify. Pending messages pinned to it fail with `carrier_deleted`; " +
    "the others move to the next carrier.",
  security: apiKeySecurity,
  middleware: [requireScope("carriers:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export const carrierRoutes = createRouter()
  .openapi(createCarrierRoute, async (c) => {
    const ctx = c.var.services;
    const row = await createCarrier({ ctx, input: c.req.valid("json"), requestUrl: c.req.url });
    return c.json(await view(ctx.env, row), 201);
  })
  .openapi(listCarriersRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listCarriers({ ctx: c.var.services, input });
    const tokens = new Map<string, string | undefined>();
    for (const r of rows) tokens.set(r.id, await callbackTokenFor(c.var.services.env, r));
    return c.json(
      page(rows, input.limit, (r) => carrierView(r, tokens.get(r.id))),
      200,
    );
  })
  .openapi(getCarrierRoute, async (c) => {
    const row = await getCarrier({
      ctx: c.var.services,
      input: c.req.valid("param"),
    });
    return c.json(await view(c.var.services.env, row), 200);
  })
  .openapi(updateCarrierRoute, async (c) => {
    const row = await updateCarrier({
      ctx: c.var.services,
      input: { id: c.req.valid("param").id, patch: c.req.valid("json") },
    });
    return c.json(await view(c.var.services.env, row), 200);
  })
  .openapi(deleteCarrierRoute, async (c) => {
    await deleteCarrier({ ctx: c.var.services, input: c.req.valid("param") });
    return c.body(null, 204);
  });
