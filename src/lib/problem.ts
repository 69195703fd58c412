import { z } from "@hono/zod-openapi";

/**
 * The one error table: every problem Herald answers with, its HTTP status and title.
 * Routes declare their error responses from here (see `errorResponses`), so the OpenAPI
 * document and the wire cannot drift.
 */
export const PROBLEMS = {
  bad_request: { status: 400, title: "Malformed request" },
  unauthorized: { status: 401, title: "Missing or invalid credentials" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  validation_failed: { status: 422, title: "Validation failed" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal error" },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;
export type ProblemStatus = (typeof PROBLEMS)[ProblemCode]["status"];

export interface FieldError {
  path: string;
  message: string;
}

export const problemType = (code: ProblemCode): string =>
  `https://herald.dev/problems/${code.replaceAll("_", "-")}`;

/** A failure a service or route raises; `app.onError` renders it as problem+json. */
export class HttpProblem extends Error {
  readonly code: ProblemCode;
  readonly status: ProblemStatus;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(code: ProblemCode, detail: string, errors?: FieldError[], headers?: Record<string, string>) {
    super(detail);
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.errors = errors;
    this.headers = headers;
  }
}

/** 422 naming one field. */
export const invalidField = (path: string, message: string): HttpProblem =>
  new HttpProblem("validation_failed", `${path}: ${message}`, [{ path, message }]);

export const notFound = (what: string): HttpProblem => new HttpProblem("not_found", `${what} not found`);

export const FieldErrorSchema = z
  .object({
    path: z
      .string()
      .openapi({ description: "The field at fault, dotted (`contacts.3.phone`).", example: "phone" }),
    message: z
      .string()
      .openapi({ description: "What is wrong with it.", example: "is not a valid phone number" }),
  })
  .openapi("FieldError");

export const ProblemSchema = z
  .object({
    type: z.string().openapi({
      description: "URI identifying the kind of problem.",
      example: "https://herald.dev/problems/validation-failed",
    }),
    title: z
      .string()
      .openapi({ description: "Short summary of the kind of problem.", example: "Validation failed" }),
    status: z.number().int().openapi({ description: "HTTP status code.", example: 422 }),
    detail: z
      .string()
      .openapi({ description: "What went wrong this time.", example: "phone: is not a valid phone number" }),
    instance: z
      .string()
      .optional()
      .openapi({ description: "The request id of this occurrence.", example: "req_3x9F" }),
    errors: z
      .array(FieldErrorSchema)
      .optional()
      .openapi({
        description: "Per-field errors (400 and 422).",
        example: [{ path: "phone", message: "is not a valid phone number" }],
      }),
  })
  .openapi("Problem");

export type Problem = z.infer<typeof ProblemSchema>;

export const problemBody = (
  code: ProblemCode,
  detail: string,
  errors?: FieldError[],
  instance?: string,
): Problem => ({
  type: problemType(code),
  title: PROBLEMS[code].title,
  status: PROBLEMS[code].status,
  detail,
  ...(instance ? { instance } : {}),
  ...(errors && errors.length > 0 ? { errors } : {}),
});

export const problemResponse = (
  code: ProblemCode,
  detail: string,
  errors?: FieldError[],
  instance?: string,
  headers?: Record<string, string>,
): Response =>
  new Response(JSON.stringify(problemBody(code, detail, errors, instance)), {
    status: PROBLEMS[code].status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

/** OpenAPI error responses for a route, from the error table. */
export const errorResponses = <S extends ProblemStatus>(...statuses: S[]) => {
  const out = {} as Record<
    S,
    { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } }
  >;
  for (const status of statuses) {
    const entry = Object.values(PROBLEMS).find((p) => p.status === status);
    out[status] = {
      description: entry?.title ?? "Error",
      content: { "application/problem+json": { schema: ProblemSchema } },
    };
  }
  return out;
};
