import { createRoute } from "@hono/zod-openapi";
import type { Filter } from "../../domain/segment-filter";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { contactView } from "../../services/contacts/view";
import {
  countMatching,
  createSegment,
  deleteSegment,
  getSegment,
  listMatching,
  listSegments,
  updateSegment,
} from "../../services/segments/segments";
import { ContactListSchema } from "../contacts/schema";
import {
  CreateSegmentSchema,
  PreviewSegmentSchema,
  SegmentListSchema,
  SegmentPreviewSchema,
  SegmentSchema,
  segmentView,
  UpdateSegmentSchema,
} from "./schema";

const tags = ["Segments"];
const idParam = IdParam("seg_0mhx2k1a0AbCdEfGhIjKlMn");
const SAMPLE_SIZE = 10;

const createSegmentRoute = createRoute({
  method: "post",
  path: "/v1/segments",
  operationId: "createSegment",
  tags,
  summary: "Create a segment",
  description: "A bad field, op or value type in `filter` is a 422 naming it.",
  security: apiKeySecurity,
  middleware: [requireScope("segments:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateSegmentSchema) } },
  responses: {
    201: { description: "Created (with its live count)", content: json(SegmentSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

const listSegmentsRoute = createRoute({
  method: "get",
  path: "/v1/segments",
  operationId: "listSegments",
  tags,
  summary: "List segments",
  security: apiKeySecurity,
  middleware: [requireScope("segments:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Segments, newest first", content: json(SegmentListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getSegmentRoute = createRoute({
  method: "get",
  path: "/v1/segments/{id}",
  operationId: "getSegment",
  tags,
  summary: "Read a segment with its live count",
  security: apiKeySecurity,
  middleware: [requireScope("segments:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The segment", content: json(SegmentSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const segmentContactsRoute = createRoute({
  method: "get",
  path: "/v1/segments/{id}/contacts",
  operationId: "listSegmentContacts",
  tags,
  summary: "List the contacts in a segment",
  security: apiKeySecurity,
  middleware: [requireScope("segments:read")] as const,
  request: { params: idParam, query: ListQuerySchema },
  responses: {
    200: { description: "Matching contacts, newest first", content: json(ContactListSchema) },
    ...errorResponses(401, 403, 404, 422),
  },
});

const updateSegmentRoute = createRoute({
  method: "patch",
  path: "/v1/segments/{id}",
  operationId: "updateSegment",
  tags,
  summary: "Change a segment",
  security: apiKeySecurity,
  middleware: [requireScope("segments:write")] as const,
  request: { params: idParam, body: { required: true, content: json(UpdateSegmentSchema) } },
  responses: {
    200: { description: "The updated segment (with its live count)", content: json(SegmentSchema) },
    ...errorResponses(400, 401, 403, 404, 413, 415, 422),
  },
});

const deleteSegmentRoute = createRoute({
  method: "delete",
  path: "/v1/segments/{id}",
  operationId: "deleteSegment",
  tags,
  summary: "Delete a segment",
  description: "A segment that is still the audience of a program that is not archived is a 409.",
  security: apiKeySecurity,
  middleware: [requireScope("segments:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
});

const previewSegmentRoute = createRoute({
  method: "post",
  path: "/v1/segments/preview",
  operationId: "previewSegment",
  tags,
  summary: "Count and sample the contacts a filter matches",
  security: apiKeySecurity,
  middleware: [requireScope("segments:read"), idempotency] as const,
  request: { body: { required: true, content: json(PreviewSegmentSchema) } },
  responses: {
    200: { description: "Count and sample", content: json(SegmentPreviewSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

export const segmentRoutes = createRouter()
  .openapi(createSegmentRoute, async (c) => {
    const ctx = c.var.services;
    const row = await createSegment(ctx, c.req.valid("json"));
    return c.json(segmentView(row, await countMatching(ctx, row.filter as Filter)), 201);
  })
  .openapi(previewSegmentRoute, async (c) => {
    const ctx = c.var.services;
    const { filter } = c.req.valid("json");
    const [n, sample] = await Promise.all([
      countMatching(ctx, filter),
      listMatching(ctx, filter, { limit: SAMPLE_SIZE - 1 }),
    ]);
    const now = new Date();
    return c.json({ count: n, sample: sample.slice(0, SAMPLE_SIZE).map((r) => contactView(r, now)) }, 200);
  })
  .openapi(listSegmentsRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listSegments(c.var.services, input);
    return c.json(
      page(rows, input.limit, (r) => segmentView(r)),
      200,
    );
  })
  .openapi(getSegmentRoute, async (c) => {
    const ctx = c.var.services;
    const row = await getSegment(ctx, c.req.valid("param").id);
    return c.json(segmentView(row, await countMatching(ctx, row.filter as Filter)), 200);
  })
  .openapi(segmentContactsRoute, async (c) => {
    const ctx = c.var.services;
    const input = c.req.valid("query");
    const row = await getSegment(ctx, c.req.valid("param").id);
    const rows = await listMatching(ctx, row.filter as Filter, input);
    const now = new Date();
    return c.json(
      page(rows, input.limit, (r) => contactView(r, now)),
      200,
    );
  })
  .openapi(updateSegmentRoute, async (c) => {
    const ctx = c.var.services;
    const row = await updateSegment(ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json(segmentView(row, await countMatching(ctx, row.filter as Filter)), 200);
  })
  .openapi(deleteSegmentRoute, async (c) => {
    await deleteSegment(c.var.services, c.req.valid("param").id);
    return c.body(null, 204);
  });
