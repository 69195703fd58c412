import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import pkg from "../package.json";
import type { AppEnv } from "./app-env";
import { defaultHook } from "./lib/openapi";
import { errorResponses, HttpProblem, type ProblemCode, problemResponse } from "./lib/problem";
import { requireApiKey } from "./middleware/auth";
import { IdempotencyKeyHeaderSchema } from "./middleware/idempotency";
import { boundJsonDepth, limitBody, requestId, requireJson } from "./middleware/request";
import { initServices } from "./middleware/services";
import { apiKeyRoutes } from "./routes/api-keys";
import { callbackRoutes } from "./routes/callbacks";
import { sinchCallbackRoutes } from "./routes/callbacks/sinch";
import { twilioInboundRoutes } from "./routes/callbacks/twilio-inbound";
import { vonageInboundRoutes } from "./routes/callbacks/vonage-inbound";
import { carrierRoutes } from "./routes/carriers";
import { contactRoutes } from "./routes/contacts";
import { timelineRoutes } from "./routes/contacts/timeline";
import { eventRoutes } from "./routes/events";
import { eventBatchRoutes } from "./routes/events/batch";
import { hookRoutes } from "./routes/hooks";
import { integrationRoutes } from "./routes/integrations";
import { messageRoutes } from "./routes/messages";
import { messageBatchRoutes } from "./routes/messages/batch";
import { programRoutes } from "./routes/programs";
import { segmentRoutes } from "./routes/segments";
import { systemRoutes } from "./routes/system";
import { DOCS_CSS, DOCS_JS, docsPage } from "./routes/system/docs";
import { operatorRoutes, tenantRoutes } from "./routes/tenants";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints";

const API_BODY_LIMIT = 1024 * 1024;
export const HOOK_BODY_LIMIT = 256 * 1024;

const statusToCode: Record<number, ProblemCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "validation_failed",
  429: "rate_limited",
};

/**
 * hono/secure-headers on every response. The API answers data, never a page: its CSP allows
 * nothing. The /docs page loads only its own script, stylesheet and /openapi.json (no CDN), and
 * its "send" button calls the API on the same origin.
 */
const apiHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: "DENY",
});
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
});

/** `/v1/tenants` and `/v1/tenants/…` (not `/v1/tenant`, a tenant's own settings). */
const isOperatorPath = (path: string): boolean => path === "/v1/tenants" || path.startsWith("/v1/tenants/");

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook });

  app.use("*", requestId);
  app.use("*", initServices);
  app.use("*", (c, next) => (c.req.path === "/docs" ? docsHeaders(c, next) : apiHeaders(c, next)));
  app.use("/v1/*", limitBody(API_BODY_LIMIT), requireJson);
  // Hooks: the depth scan reads no field and trusts nothing, so it may precede the signature check.
  app.use("/hooks/*", limitBody(HOOK_BODY_LIMIT), requireJson, boundJsonDepth);
  app.use("/v1/*", async (c, next) => {
    // The operator's routes (/v1/tenants…) authenticate with ADMIN_TOKEN instead of an API key.
    if (isOperatorPath(c.req.path)) return next();
    return requireApiKey(c, next);
  });
  app.use("/v1/*", boundJsonDepth);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `Authorization: Bearer hk_live_…`.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description:
      "The operator's ADMIN_TOKEN secret: the `/v1/tenants` routes only (creating tenants, operator settings).",
  });

  app.route("/", systemRoutes);
  app.route("/", operatorRoutes);
  app.route("/", tenantRoutes);
  app.route("/", apiKeyRoutes);
  app.route("/", contactRoutes);
  app.route("/", segmentRoutes);
  app.route("/", messageRoutes);
  app.route("/", messageBatchRoutes);
  app.route("/", carrierRoutes);
  app.route("/", callbackRoutes);
  app.route("/", integrationRoutes);
  app.route("/", hookRoutes);
  app.route("/", webhookEndpointRoutes);
  app.route("/", twilioInboundRoutes);
  app.route("/", vonageInboundRoutes);
  app.route("/", sinchCallbackRoutes);
  app.route("/", timelineRoutes);
  app.route("/", programRoutes);
  app.route("/", eventRoutes);
  app.route("/", eventBatchRoutes);

  documentIdempotency(app);

  app.get("/openapi.json", (c) => c.json(openApiDocument(app)));
  app.get("/docs", (c) => c.html(docsPage("/openapi.json")));
  app.get("/docs/docs.js", (c) => c.body(DOCS_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/docs/docs.css", (c) => c.body(DOCS_CSS, 200, { "content-type": "text/css; charset=utf-8" }));

  app.notFound((c) =>
    problemResponse("not_found", `No route for ${c.req.method} ${c.req.path}`, undefined, c.get("requestId")),
  );
  app.onError((err, c) => {
    const rid = c.get("requestId");
    if (err instanceof HttpProblem)
      return problemResponse(err.code, err.message, err.errors, rid, err.headers);
    if (err instanceof HTTPException) {
      const code = statusToCode[err.status] ?? "internal";
      const detail = err.message || "Request failed";
      return problemResponse(
        code,
        detail,
        code === "bad_request" ? [{ path: "(body)", message: detail }] : undefined,
        rid,
      );
    }
    console.error(
      JSON.stringify({ level: "error", requestId: rid, message: String(err), stack: (err as Error).stack }),
    );
    return problemResponse(
      "internal",
      "Something went wrong on our side; the request id identifies it.",
      undefined,
      rid,
    );
  });
  return app;
}

/**
 * Every POST under /v1 (but tenant creation) runs the idempotency middleware right after its scope
 * check (`middleware: [requireScope(…), idempotency]`: a stored answer is never replayed to a key
 * without the scope), so every one documents the `Idempotency-Key` header and the 409/422 it can
 * answer — added here once, not per route. test/idempotency checks that each of them honours it.
 */
function documentIdempotency(app: OpenAPIHono<AppEnv>) {
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const route = def.route;
    if (route.method !== "post" || !route.path.startsWith("/v1/") || route.path === "/v1/tenants") continue;
    route.request ??= {};
    route.request.headers ??= IdempotencyKeyHeaderSchema;
    Object.assign(route.responses, { ...errorResponses(409, 422), ...route.responses });
  }
}

type App = ReturnType<typeof createApp>;
/** OpenAPI 3.1 wants the SPDX `identifier` (or a `url`); the generator's 3.0 types do not know the field yet. */
const MIT_LICENSE = { name: "MIT", identifier: "MIT" };
let cachedDoc: unknown;

/** The OpenAPI 3.1 document, generated from the routes (also written to openapi.json by `npm run openapi`). */
export function openApiDocument(app: App) {
  cachedDoc ??= app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Herald API",
      version: pkg.version,
      description:
        "Operational SMS programs on one Cloudflare Worker: contacts, segments, programs, messages, carriers and storefront hooks. " +
        "Errors are RFC 9457 problem+json. Every POST under /v1 accepts an `Idempotency-Key` header.",
      license: MIT_LICENSE,
    },
    tags: [],
  });
  return cachedDoc;
}
