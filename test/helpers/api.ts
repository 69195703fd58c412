import { exports } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import { expect } from "vitest";
import { createApp } from "../../src/app";

export const BASE = "https://herald.test";
export const ADMIN_TOKEN = "test-admin-token";

interface RouteDef {
  method: string;
  path: string;
  responses: Record<string, { content?: Record<string, { schema: z.ZodType }> }>;
}

const routes: { method: string; pattern: RegExp; def: RouteDef }[] = createApp()
  .openAPIRegistry.definitions.filter((d) => d.type === "route")
  .map((d) => {
    const def = (d as unknown as { route: RouteDef }).route;
    const pattern = new RegExp(`^${def.path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    return { method: def.method.toUpperCase(), pattern, def };
  });

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** Skip the check against the route's documented responses (for routes outside the OpenAPI document). */
  unchecked?: boolean;
}

/**
 * Calls the Worker the way a client does and checks the response against the OpenAPI route that
 * answered it: the status must be documented and the body must match that status's schema.
 */
export async function call<T = unknown>(
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await (exports as unknown as { default: Fetcher }).default.fetch(
    new Request(BASE + path, { method, headers, body }),
  );
  const text = await res.text();
  const contentType = res.headers.get("content-type") ?? "";
  const parsed = contentType.includes("json") && text ? JSON.parse(text) : text;
  if (!opts.unchecked) checkAgainstRoute(method, path, res.status, contentType, parsed, text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

function checkAgainstRoute(
  method: string,
  path: string,
  status: number,
  contentType: string,
  body: unknown,
  text: string,
) {
  const pathname = new URL(BASE + path).pathname;
  const route = routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(pathname));
  if (!route) throw new Error(`No documented route for ${method} ${pathname}`);
  const documented = route.def.responses[String(status)];
  if (!documented) {
    throw new Error(
      `${method} ${route.def.path} answered ${status}, which its OpenAPI route does not document: ${text.slice(0, 300)}`,
    );
  }
  if (!documented.content) {
    expect(text, `${method} ${route.def.path} ${status} documents no body`).toBe("");
    return;
  }
  const mediaType = contentType.split(";")[0]?.trim() ?? "";
  const media = documented.content[mediaType];
  if (!media)
    throw new Error(
      `${method} ${route.def.path} ${status} answered ${mediaType}, documented: ${Object.keys(documented.content)}`,
    );
  const result = media.schema.safeParse(body);
  if (!result.success) {
    throw new Error(
      `${method} ${route.def.path} ${status} body does not match its schema: ${JSON.stringify(result.error.issues).slice(0, 800)}`,
    );
  }
}

/** Shorthands bound to one API key. */
export function client(key: string) {
  return {
    get: <T = unknown>(path: string, o: CallOptions = {}) => call<T>("GET", path, { key, ...o }),
    post: <T = unknown>(path: string, body?: unknown, o: CallOptions = {}) =>
      call<T>("POST", path, { key, body, ...o }),
    patch: <T = unknown>(path: string, body?: unknown, o: CallOptions = {}) =>
      call<T>("PATCH", path, { key, body, ...o }),
    del: <T = unknown>(path: string, o: CallOptions = {}) => call<T>("DELETE", path, { key, ...o }),
  };
}

export type Client = ReturnType<typeof client>;
