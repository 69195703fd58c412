import { z } from "@hono/zod-openapi";
import { listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import { WEBHOOK_EVENT_TYPES } from "../../services/webhooks/emit";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "../../services/webhooks/endpoints";

const EventTypeSchema = z
  .enum(WEBHOOK_EVENT_TYPES)
  .openapi({ description: "An event type to receive.", example: "message.delivered" });

const UrlSchema = z.string().min(1).max(2048).openapi({
  description: "Where Herald POSTs events: `https://` only (loopback `http://` allowed in development).",
  example: "https://example.com/herald/webhooks",
});

const EventsSchema = z
  .array(EventTypeSchema)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .openapi({
    description:
      "Event types this endpoint receives. A `message.*` event's `data` is the Message object exactly as `GET /v1/messages/{id}` shows it (without `events`), whichever path produced it (sandbox, carrier answer, status callback, dead letter); `contact.*` events carry `{contact_id, phone, source}`.",
    example: ["message.delivered", "message.failed"],
  });

export const CreateWebhookEndpointSchema = z
  .strictObject({ url: UrlSchema, events: EventsSchema })
  .openapi("CreateWebhookEndpoint");

export const UpdateWebhookEndpointSchema = z
  .strictObject({
    url: UrlSchema.optional(),
    events: EventsSchema.optional(),
    status: z.enum(["enabled", "disabled"]).optional().openapi({
      description: "`enabled` re-enables a disabled endpoint (and clears its failure count).",
      example: "enabled",
    }),
  })
  .openapi("UpdateWebhookEndpoint");

export const WebhookEndpointSchema = z
  .object({
    id: z.string().openapi({ description: "Endpoint id.", example: "whe_0mhx2k1a0AbCdEfGhIjKlMn" }),
    url: UrlSchema,
    events: z
      .array(z.string())
      .openapi({ description: "Event types received.", example: ["message.delivered"] }),
    status: z.enum(["enabled", "disabled"]).openapi({
      description: "`disabled` endpoints receive nothing until re-enabled.",
      example: "enabled",
    }),
    disabled_reason: z.string().nullable().openapi({
      description: "Why Herald disabled it (e.g. deliveries kept failing).",
      example: null,
    }),
    consecutive_failures: z
      .number()
      .int()
      .openapi({ description: "Failed attempts in a row since the last success.", example: 0 }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("WebhookEndpoint");

export const CreatedWebhookEndpointSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    description: "The Standard Webhooks signing secret, shown once.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("CreatedWebhookEndpoint");

export const WebhookEndpointListSchema = listOf(WebhookEndpointSchema, "WebhookEndpointList");

export const WebhookDeliverySchema = z
  .object({
    id: z.string().openapi({
      description: "Delivery id; also the `webhook-id` header (the same on every retry).",
      example: "whd_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
    endpoint_id: z.string().openapi({ description: "The endpoint.", example: "whe_0mhx2k1a0AbCdEfGhIjKlMn" }),
    event_type: z.string().openapi({ description: "Event type.", example: "message.delivered" }),
    payload: z.record(z.string(), z.unknown()).openapi({
      description:
        "The JSON body sent: `{type, timestamp, data}` (for `message.*`, `data` is the Message object).",
      example: { type: "message.delivered", timestamp: "2026-11-22T21:30:00.000Z", data: { id: "msg_1" } },
    }),
    status: z.enum(["pending", "delivered", "failed"]).openapi({
      description: "`pending` while retries remain (24 h).",
      example: "delivered",
    }),
    attempts: z.number().int().openapi({ description: "Attempts so far.", example: 1 }),
    last_status_code: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "HTTP status of the last attempt (null: no answer).", example: 200 }),
    last_error: z.string().nullable().openapi({ description: "What went wrong last time.", example: null }),
    next_attempt_at: TimestampSchema.nullable().openapi({
      description: "When the next attempt is due.",
      example: null,
    }),
    delivered_at: TimestampSchema.nullable().openapi({
      description: "When the endpoint answered 2xx.",
      example: "2026-11-22T21:30:01.000Z",
    }),
    failed_at: TimestampSchema.nullable().openapi({ description: "When Herald gave up.", example: null }),
    created_at: TimestampSchema,
  })
  .openapi("WebhookDelivery");

export const WebhookDeliveryListSchema = listOf(WebhookDeliverySchema, "WebhookDeliveryList");

export const webhookEndpointView = (r: WebhookEndpointRow): z.infer<typeof WebhookEndpointSchema> => ({
  id: r.id,
  url: r.url,
  events: r.events,
  status: r.status,
  disabled_reason: r.disabledReason,
  consecutive_failures: r.consecutiveFailures,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

export const webhookDeliveryView = (r: WebhookDeliveryRow): z.infer<typeof WebhookDeliverySchema> => ({
  id: r.id,
  endpoint_id: r.endpointId,
  event_type: r.eventType,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  status: r.status as "pending" | "delivered" | "failed",
  attempts: r.attempts,
  last_status_code: r.lastStatusCode,
  last_error: r.lastError,
  next_attempt_at: r.nextAttemptAt,
  delivered_at: r.deliveredAt,
  failed_at: r.failedAt,
  created_at: r.createdAt,
});
