import { z } from "@hono/zod-openapi";
import { invalidField } from "./problem";

/** Keyset cursor over `(created_at, id)`, newest first. Opaque to clients. */
export interface Cursor {
  createdAt: string;
  id: string;
}

export const encodeCursor = (c: Cursor): string =>
  btoa(JSON.stringify([c.createdAt, c.id])).replaceAll("=", "");

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(atob(raw));
    if (Array.isArray(parsed) && typeof parsed[0] === "string" && typeof parsed[1] === "string") {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw invalidField("cursor", "is not a cursor this API returned");
}

export const ListQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ description: "Page size, 1–200.", example: 50, param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .optional()
    .openapi({
      description: "`next_cursor` of the previous page.",
      example: "WyIyMDI2LTExLTIyVDIxOjAwOjAwLjAwMFoiLCJjdF8xIl0",
      param: { name: "cursor", in: "query" },
    }),
});

/** `{data, next_cursor}` envelope for a list of `item`. */
export const listOf = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      data: z.array(item).openapi({ description: "This page, newest first." }),
      next_cursor: z.string().nullable().openapi({
        description: "Pass as `cursor` for the next page; null on the last page.",
        example: null,
      }),
    })
    .openapi(name);

/** Builds the page from `limit + 1` rows fetched newest first. */
export function page<R extends { createdAt: string; id: string }, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
) {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return {
    data: slice.map(map),
    next_cursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}
