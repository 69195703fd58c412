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

export const docsPage = (specUrl: string): string => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Herald API reference</title>
</head>
<body>
  <noscript>The interactive reference needs JavaScript. The raw document is at <a href="${specUrl}">${specUrl}</a>.</noscript>
  <script id="api-reference" data-url="${specUrl}"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
</body>
</html>`;
