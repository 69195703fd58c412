import type { Hook } from "@hono/zod-openapi";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { type FieldError, problemResponse } from "./problem";

/** zod issues → problem+json. Unknown fields are a 400 (a client bug); the rest a 422. */
export function zodIssuesToProblem(error: z.ZodError, target: string, requestId?: string): Response {
  const prefix = target === "json" ? "" : `${target}.`;
  const unknown: FieldError[] = [];
  const invalid: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const raw of issue.keys) {
        // An empty key is a field too: named `""` so the error still points at something.
        const key = raw === "" ? '""' : raw;
        unknown.push({ path: prefix + (base ? `${base}.${key}` : key), message: "is not a known field" });
      }
    } else {
      invalid.push({ path: prefix + (base || "(body)"), message: issue.message });
    }
  }
  if (unknown.length > 0) {
    return problemResponse(
      "bad_request",
      `Unknown field: ${unknown.map((e) => e.path).join(", ")}`,
      unknown,
      requestId,
    );
  }
  return problemResponse(
    "validation_failed",
    invalid.map((e) => `${e.path}: ${e.message}`).join("; "),
    invalid,
    requestId,
  );
}

export const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (!result.success) {
    return zodIssuesToProblem(result.error as z.ZodError, result.target, c.get("requestId"));
  }
};

/** A router for one resource; every router shares the default validation hook. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook });

/** Path parameter `{id}` with a prefix-shaped example. */
export const IdParam = (example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, description: "Resource id.", example }),
  });

/** Security requirement for routes authenticated by an API key. */
export const apiKeySecurity = [{ bearerAuth: [] }];

/** `content` of a JSON request or response. */
export const json = <T>(schema: T) => ({ "application/json": { schema } });
