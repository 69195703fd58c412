import { createRoute, z } from "@hono/zod-openapi";
import pkg from "../../../package.json";
import { createRouter, json } from "../../lib/openapi";

export const HealthSchema = z
  .object({
    status: z.literal("ok").openapi({ description: "Always `ok` when the Worker answers.", example: "ok" }),
    version: z.string().openapi({ description: "Herald version.", example: "0.1.0" }),
  })
  .openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  tags: ["System"],
  summary: "Liveness",
  responses: { 200: { description: "Alive", content: json(HealthSchema) } },
});

export const systemRoutes = createRouter().openapi(healthRoute, (c) =>
  c.json({ status: "ok" as const, version: pkg.version }, 200),
);
