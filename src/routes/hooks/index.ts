import { createRoute, z } from "@hono/zod-openapi";
import { LEASE_MS } from "../../domain/rules/lease";
import { processClaimedHook } from "../../hooks/process";
import { receiveHook } from "../../hooks/receive";
import { createRouter, json } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";

const HookParams = z.object({
  integration_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({
      param: { name: "integration_id", in: "path" },
      description: "The integration's id (from its `webhook_url`).",
      example: "int_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
});

const HookAcceptedSchema = z
  .object({
    received: z.literal(true).openapi({ description: "The delivery was accepted.", example: true }),
    duplicate: z.boolean().openapi({
      description: "True when this delivery was seen before (it has no second effect).",
      example: false,
    }),
  })
  .openapi("HookAccepted");

const receiveHookRoute = createRoute({
  method: "post",
  path: "/hooks/{integration_id}",
  operationId: "receiveHook",
  tags: ["Storefront hooks"],
  summary: "Receive a storefront webhook",
  description:
    "No API key: the signature is the authentication, checked on the raw bytes first. Shopify: `X-Shopify-Hmac-Sha256`, " +
    "`X-Shopify-Topic`, deduped by `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`). Standard Webhooks: `webhook-id`, " +
    "`webhook-timestamp` (±5 min), `webhook-signature`; the body is a `POST /v1/events` body. Repeated deliveries answer 200 and do nothing. " +
    "Shopify deliveries are also deduped by what the HMAC covers (the body's own ids and timestamps): the same body under new headers is a duplicate.",
  request: { params: HookParams },
  responses: {
    200: { description: "Accepted (or a duplicate)", content: json(HookAcceptedSchema) },
    ...errorResponses(400, 401, 404, 413, 415),
  },
});

export const hookRoutes = createRouter().openapi(receiveHookRoute, async (c) => {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const { integration_id } = c.req.valid("param");
  const received = await receiveHook(c.env, integration_id, raw, c.req.raw.headers);
  if (received.claimed) {
    const claimed = received.claimed;
    // The stored row (with its lease) is what the 200 acknowledges: if this send fails, or the
    // process dies, the scheduler's lease sweep re-enqueues the delivery. The queue job is the
    // fast durable path: it comes back after the claim's lease and finishes the work only if this
    // attempt died (a finished delivery is skipped).
    try {
      await c.env.WORK_QUEUE.send(
        { kind: "hook", deliveryId: claimed.id },
        { delaySeconds: Math.ceil(LEASE_MS / 1000) + 5 },
      );
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "warn",
          message: "hook queue send failed; the lease sweep recovers the delivery",
          delivery_id: claimed.id,
          error: String(err),
        }),
      );
    }
    // Processed right after the answer, so a delay apology does not wait for a queue batch.
    c.executionCtx.waitUntil(
      processClaimedHook(c.env, claimed).catch((err) =>
        console.error(
          JSON.stringify({
            level: "warn",
            message: "inline hook processing failed; the queue retries",
            error: String(err),
          }),
        ),
      ),
    );
  }
  return c.json({ received: true as const, duplicate: !received.created }, 200);
});
