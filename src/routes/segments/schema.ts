import { z } from "@hono/zod-openapi";
import { FilterSchema } from "../../domain/segment-filter";
import { listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import type { SegmentRow } from "../../services/segments/segments";
import { ContactSchema } from "../contacts/schema";

const name = z.string().min(1).max(100).openapi({ description: "Segment name.", example: "Austin adults" });

export const CreateSegmentSchema = z.strictObject({ name, filter: FilterSchema }).openapi("CreateSegment");

export const UpdateSegmentSchema = z
  .strictObject({ name: name.optional(), filter: FilterSchema.optional() })
  .openapi("UpdateSegment");

export const PreviewSegmentSchema = z.strictObject({ filter: FilterSchema }).openapi("PreviewSegment");

export const SegmentSchema = z
  .object({
    id: z.string().openapi({ description: "Segment id.", example: "seg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name,
    filter: FilterSchema,
    count: z.number().int().optional().openapi({
      description: "Contacts matching now, subscribed or not (single-segment reads only).",
      example: 1280,
    }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Segment");

export const SegmentListSchema = listOf(SegmentSchema, "SegmentList");

export const SegmentPreviewSchema = z
  .object({
    count: z.number().int().openapi({ description: "Contacts matching now.", example: 1280 }),
    sample: z.array(ContactSchema).openapi({ description: "Up to 10 matching contacts, newest first." }),
  })
  .openapi("SegmentPreview");

export const segmentView = (row: SegmentRow, count?: number): z.infer<typeof SegmentSchema> => ({
  id: row.id,
  name: row.name,
  filter: row.filter as z.infer<typeof FilterSchema>,
  ...(count !== undefined && { count }),
  created_at: row.createdAt,
  updated_at: row.updatedAt,
});
