import { createRoute, z } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, listOf, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { TimestampSchema } from "../../lib/validators";
import { requireScope } from "../../middleware/auth";
import { contactTimeline, type TimelineEntry } from "../../services/timeline/timeline";

const at = TimestampSchema.openapi({
  description: "When it happened (as Herald recorded it).",
  example: "2026-11-22T21:30:00.000Z",
});

const OutboundEntry = z
  .object({
    type: z
      .literal("message.outbound")
      .openapi({ description: "A message Herald sent (or suppressed).", example: "message.outbound" }),
    at,
    id: z.string().openapi({ description: "Message id.", example: "msg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    body: z
      .string()
      .openapi({ description: "The text.", example: "Sorry — your order #1042 now arrives Thu Dec 3." }),
    to: z.string().openapi({ description: "Recipient (E.164).", example: "+12125550142" }),
    from: z.string().nullable().openapi({ description: "Sender number.", example: "+12125550100" }),
    status: z.string().openapi({ description: "Message status.", example: "delivered" }),
    status_reason: z.string().nullable().openapi({ description: "Why suppressed/failed.", example: null }),
    program_id: z
      .string()
      .nullable()
      .openapi({ description: "The program that sent it.", example: "pg_0mhx2k1a0AbCdEfGhIjKlMn" }),
    carrier_id: z.string().nullable().openapi({ description: "Carrier used.", example: null }),
    segments: z.number().int().openapi({ description: "SMS segments.", example: 1 }),
  })
  .openapi("TimelineOutboundMessage");

const InboundEntry = z
  .object({
    type: z
      .literal("message.inbound")
      .openapi({ description: "A text the contact sent.", example: "message.inbound" }),
    at,
    id: z.string().openapi({ description: "Inbound message id.", example: "inb_0mhx2k1a0AbCdEfGhIjKlMn" }),
    body: z.string().openapi({ description: "The text, verbatim.", example: "When will it arrive?" }),
    from: z.string().openapi({ description: "The contact's phone.", example: "+12125550142" }),
    to: z.string().openapi({ description: "Your number.", example: "+12125550100" }),
    keyword: z
      .enum(["stop", "start", "help"])
      .nullable()
      .openapi({ description: "Keyword family, if any.", example: null }),
  })
  .openapi("TimelineInboundMessage");

const EventEntry = z
  .object({
    type: z.literal("event").openapi({ description: "An event about the contact.", example: "event" }),
    at,
    id: z.string().openapi({ description: "Event id.", example: "evt_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name: z.string().openapi({ description: "Event name.", example: "order.delayed" }),
    data: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Event data.", example: { order_name: "#1042" } }),
    occurred_at: z
      .string()
      .openapi({ description: "When the sender says it happened.", example: "2026-11-22T19:05:00.000Z" }),
    source: z.string().openapi({ description: "api, shopify or standard_hook.", example: "shopify" }),
  })
  .openapi("TimelineEvent");

const ConsentEntry = z
  .object({
    type: z
      .literal("consent")
      .openapi({ description: "A consent change (append-only record).", example: "consent" }),
    at,
    id: z.string().openapi({ description: "Consent record id.", example: "cns_0mhx2k1a0AbCdEfGhIjKlMn" }),
    change: z.string().openapi({
      description: "subscribed, unsubscribed, marketing_opt_in or marketing_opt_out.",
      example: "unsubscribed",
    }),
    source: z
      .string()
      .openapi({ description: "Where it came from (sms, api, shopify, carrier…).", example: "sms" }),
    text: z
      .string()
      .nullable()
      .openapi({ description: "Verbatim text or consent language.", example: "STOP" }),
  })
  .openapi("TimelineConsent");

export const TimelineEntrySchema = z
  .discriminatedUnion("type", [OutboundEntry, InboundEntry, EventEntry, ConsentEntry])
  .openapi("TimelineEntry");

const TimelineSchema = listOf(TimelineEntrySchema, "Timeline");

const timelineRoute = createRoute({
  method: "get",
  path: "/v1/contacts/{id}/timeline",
  operationId: "getContactTimeline",
  tags: ["Contacts"],
  summary: "Everything a contact sent, received and triggered",
  description:
    "Outbound and inbound messages, events and consent changes from every program and department, newest first, paginated like every list.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:read")] as const,
  request: { params: IdParam("ct_0mhx2k1a0AbCdEfGhIjKlMn"), query: ListQuerySchema },
  responses: {
    200: { description: "Timeline, newest first", content: json(TimelineSchema) },
    ...errorResponses(401, 403, 404, 422),
  },
});

const view = ({ createdAt: _c, ...entry }: TimelineEntry & { createdAt: string }): TimelineEntry => entry;

export const timelineRoutes = createRouter().openapi(timelineRoute, async (c) => {
  const input = c.req.valid("query");
  const { rows } = await contactTimeline(c.var.services, c.req.valid("param").id, input);
  return c.json(page(rows, input.limit, view) as z.infer<typeof TimelineSchema>, 200);
});
