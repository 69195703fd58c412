import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { decodeCursor, ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { previewProgram } from "../../services/programs/preview";
import {
  archiveProgram,
  createProgram,
  getProgram,
  listPrograms,
  updateProgram,
} from "../../services/programs/programs";
import { runProgram } from "../../services/programs/run";
import { programStats } from "../../services/programs/stats";
import {
  CreateProgramSchema,
  PreviewProgramSchema,
  PreviewSchema,
  ProgramListSchema,
  ProgramSchema,
  programView,
  RunSchema,
  StatsSchema,
  UpdateProgramSchema,
} from "./schema";

const tags = ["Programs"];
const idParam = IdParam("pg_0mhx2k1a0AbCdEfGhIjKlMn");

const createProgramRoute = createRoute({
  method: "post",
  path: "/v1/programs",
  operationId: "createProgram",
  tags,
  summary: "Create a program",
  description:
    "`{name, kind}` alone is a working program: each kind brings its template, trigger, category and exit events.",
  security: apiKeySecurity,
  middleware: [requireScope("programs:write"), idempotency] as const,
  request: { body: { required: true, content: json(CreateProgramSchema) } },
  responses: {
    201: { description: "Created", content: json(ProgramSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listProgramsRoute = createRoute({
  method: "get",
  path: "/v1/programs",
  operationId: "listPrograms",
  tags,
  summary: "List programs",
  security: apiKeySecurity,
  middleware: [requireScope("programs:read")] as const,
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "Programs, newest first", content: json(ProgramListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getProgramRoute = createRoute({
  method: "get",
  path: "/v1/programs/{id}",
  operationId: "getProgram",
  tags,
  summary: "Get a program",
  security: apiKeySecurity,
  middleware: [requireScope("programs:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The program", content: json(ProgramSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const updateProgramRoute = createRoute({
  method: "patch",
  path: "/v1/programs/{id}",
  operationId: "updateProgram",
  tags,
  summary: "Update a program",
  description: "Pause with `status: paused`; occurrences due while paused are skipped.",
  security: apiKeySecurity,
  middleware: [requireScope("programs:write")] as const,
  request: { params: idParam, body: { required: true, content: json(UpdateProgramSchema) } },
  responses: {
    200: { description: "Updated", content: json(ProgramSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const archiveProgramRoute = createRoute({
  method: "delete",
  path: "/v1/programs/{id}",
  operationId: "archiveProgram",
  tags,
  summary: "Archive a program",
  description: "The program stays readable with `status: archived`; its pending messages are canceled.",
  security: apiKeySecurity,
  middleware: [requireScope("programs:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Archived" }, ...errorResponses(401, 403, 404) },
});

const previewProgramRoute = createRoute({
  method: "post",
  path: "/v1/programs/{id}/preview",
  operationId: "previewProgram",
  tags,
  summary: "Preview a program's message",
  description:
    "The body one contact would get, its encoding and segments, and warnings (UCS-2 characters, missing data).",
  security: apiKeySecurity,
  middleware: [requireScope("programs:read"), idempotency] as const,
  request: { params: idParam, body: { required: false, content: json(PreviewProgramSchema) } },
  responses: {
    200: { description: "Preview", content: json(PreviewSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const runProgramRoute = createRoute({
  method: "post",
  path: "/v1/programs/{id}/run",
  operationId: "runProgram",
  tags,
  summary: "Send to the program's audience now",
  description:
    "One message per subscribed contact of the audience, each exactly once. The first 1,000 are written before the answer; a larger audience continues in the background (the work queue) in pages, so the request stays short. Follow them with `GET /v1/messages?program_id=` or the program's stats. " +
    "With an `Idempotency-Key` the run id is derived from it: a retry after a 5xx continues the same run and sends nobody twice.",
  security: apiKeySecurity,
  middleware: [requireScope("programs:write"), idempotency] as const,
  request: { params: idParam },
  responses: {
    202: { description: "Accepted", content: json(RunSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const statsRoute = createRoute({
  method: "get",
  path: "/v1/programs/{id}/stats",
  operationId: "getProgramStats",
  tags,
  summary: "Program statistics",
  security: apiKeySecurity,
  middleware: [requireScope("programs:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "Counts", content: json(StatsSchema) },
    ...errorResponses(401, 403, 404),
  },
});

export const programRoutes = createRouter()
  .openapi(createProgramRoute, async (c) => {
    const row = await createProgram(c.var.services, c.req.valid("json"));
    return c.json(programView(row), 201);
  })
  .openapi(listProgramsRoute, async (c) => {
    const q = c.req.valid("query");
    const rows = await listPrograms(c.var.services, { limit: q.limit, cursor: decodeCursor(q.cursor) });
    return c.json(page(rows, q.limit, programView), 200);
  })
  .openapi(getProgramRoute, async (c) => {
    const row = await getProgram(c.var.services, c.req.valid("param").id);
    return c.json(programView(row), 200);
  })
  .openapi(updateProgramRoute, async (c) => {
    const row = await updateProgram(c.var.services, c.req.valid("param").id, c.req.valid("json"));
    return c.json(programView(row), 200);
  })
  .openapi(archiveProgramRoute, async (c) => {
    await archiveProgram(c.var.services, c.req.valid("param").id);
    return c.body(null, 204);
  })
  .openapi(previewProgramRoute, async (c) => {
    const body = (c.req.valid("json") as object | undefined) ?? {};
    const preview = await previewProgram(c.var.services, c.req.valid("param").id, body);
    return c.json(preview, 200);
  })
  .openapi(runProgramRoute, async (c) => {
    // The Idempotency-Key names the run: a retry after a 5xx (the key released) continues it.
    const run = await runProgram(c.var.services, c.req.valid("param").id, {
      idempotencyKey: c.req.header("idempotency-key") ?? null,
    });
    return c.json(run, 202);
  })
  .openapi(statsRoute, async (c) => {
    const stats = await programStats(c.var.services, c.req.valid("param").id);
    return c.json(stats, 200);
  });
