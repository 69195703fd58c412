import { z } from "@hono/zod-openapi";
import { type FieldError, FieldErrorSchema } from "./problem";

/**
 * Batch endpoints (`POST /v1/contacts/batch`, `/v1/messages/batch`, `/v1/events/batch`): each row
 * is validated on its own with the schema of the single route, and a bad row — an unknown field
 * included — becomes a `failed[]` entry by index instead of failing the request. Error paths are
 * relative to the row (`phone`, `contact.id`), the row being named by `index`.
 */

/** One row that was not stored: its position in the request and why. */
export interface RowFailure {
  index: number;
  errors: FieldError[];
}

/** zod issues of one batch row as `[{path, message}]`, paths relative to the row. */
export function rowErrors(
  issues: readonly { code: string; path: PropertyKey[]; message: string; keys?: string[] }[],
): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys ?? [])
        out.push({ path: base ? `${base}.${key}` : key, message: "is not a known field" });
    } else {
      out.push({ path: base || "(row)", message: issue.message });
    }
  }
  return out;
}

/** Parses every row with `schema`: the rows that pass (with their index) and the failures. */
export function parseRows<S extends z.ZodType>(
  rows: readonly unknown[],
  schema: S,
): { valid: { index: number; input: z.infer<S> }[]; failed: RowFailure[] } {
  const valid: { index: number; input: z.infer<S> }[] = [];
  const failed: RowFailure[] = [];
  rows.forEach((row, index) => {
    const parsed = schema.safeParse(row);
    if (parsed.success) valid.push({ index, input: parsed.data });
    else failed.push({ index, errors: rowErrors(parsed.error.issues as never) });
  });
  return { valid, failed };
}

/** `failed[]` of a batch answer (a named schema shared by the message and event batches). */
export const BatchRowFailureSchema = z
  .object({
    index: z.number().int().openapi({ description: "Position of the row in the request.", example: 3 }),
    errors: z.array(FieldErrorSchema).openapi({
      description: "Why the row was not stored; paths are relative to the row.",
      example: [{ path: "to", message: "is not a valid phone number" }],
    }),
  })
  .openapi("BatchRowFailure", {
    description: "A row that was not stored, by index; the other rows were.",
  });
