import { z } from "@hono/zod-openapi";
import { parseTelnyxInbound, parseTelnyxStatus, verifyTelnyxRequest } from "../../carriers/telnyx/webhooks";
import { parseTwilioStatus, verifyTwilioRequest } from "../../carriers/twilio/webhooks";
import type { CarrierStatusUpdate } from "../../carriers/types";
import { parseVonageStatus, verifyVonageRequest, vonageParams } from "../../carriers/vonage/webhooks";
import { createRouter } from "../../lib/openapi";
import { limitBody } from "../../middleware/request";
import { applyCarrierOptOut, applyStatusUpdate } from "../../services/carriers/apply-status";
import { type CallbackCarrier, callbackCarrier } from "../../services/carriers/callback";
import { handleInboundSms } from "../../services/inbound/handle";
import {
  CALLBACK_BODY_LIMIT,
  CarrierIdParam,
  callbackResponses,
  callbackTags,
  forbiddenSignature,
  MessageIdQuery,
  publicCallbackUrl,
  rawText,
} from "./shared";

const TwilioStatusForm = z
  .object({
    MessageSid: z
      .string()
      .openapi({ description: "Twilio's message sid.", example: "SM0123456789abcdef0123456789abcdef" }),
    MessageStatus: z
      .string()
      .openapi({ description: "queued, sent, delivered, undelivered, failed…", example: "delivered" }),
    ErrorCode: z
      .string()
      .optional()
      .openapi({ description: "Twilio error code on failure.", example: "30007" }),
    AccountSid: z
      .string()
      .optional()
      .openapi({ description: "The account.", example: "AC0123456789abcdef0123456789abcdef" }),
  })
  .openapi("TwilioStatusCallback");

const TelnyxWebhook = z
  .object({
    data: z
      .object({
        event_type: z.string().openapi({
          description: "message.sent, message.finalized or message.received.",
          example: "message.finalized",
        }),
        payload: z
          .record(z.string(), z.unknown())
          .openapi({ description: "The message.", example: { id: "4031938e-…" } }),
      })
      .openapi({
        description: "The event.",
        example: { event_type: "message.finalized", payload: { id: "4031938e-…" } },
      }),
  })
  .openapi("TelnyxWebhook");

const VonageStatusForm = z
  .object({
    messageId: z.string().openapi({ description: "Vonage's message id.", example: "0A0000000123ABCD1" }),
    status: z.string().openapi({
      description: "delivered, accepted, buffered, expired, failed, rejected, unknown.",
      example: "delivered",
    }),
    "err-code": z.string().optional().openapi({ description: "Delivery error code.", example: "0" }),
    "client-ref": z
      .string()
      .optional()
      .openapi({ description: "Herald's message id.", example: "msg_0mhx2k1a0AbCdEfGhIjKlMn" }),
  })
  .openapi("VonageStatusCallback");

const router = createRouter();

router.openAPIRegistry.registerPath({
  method: "post",
  path: "/callbacks/twilio/{carrier_id}/status",
  operationId: "twilioStatusCallback",
  tags: callbackTags,
  summary: "Twilio message status callback",
  description:
    "Form-encoded, verified with `X-Twilio-Signature` (HMAC-SHA1 of the public URL and the sorted parameters, " +
    "keyed by the auth token). Status only moves forward.",
  request: {
    params: CarrierIdParam,
    query: MessageIdQuery,
    body: { required: true, content: { "application/x-www-form-urlencoded": { schema: TwilioStatusForm } } },
  },
  responses: callbackResponses,
});

router.openAPIRegistry.registerPath({
  method: "post",
  path: "/callbacks/telnyx/{carrier_id}",
  operationId: "telnyxCallback",
  tags: callbackTags,
  summary: "Telnyx messaging webhook",
  description:
    "Status events (`message.sent`, `message.finalized`) and inbound messages (`message.received`), verified " +
    "with `telnyx-signature-ed25519` over `telnyx-timestamp|body` (5-minute tolerance).",
  request: {
    params: CarrierIdParam,
    query: MessageIdQuery,
    body: { required: true, content: { "application/json": { schema: TelnyxWebhook } } },
  },
  responses: callbackResponses,
});

router.openAPIRegistry.registerPath({
  method: "post",
  path: "/callbacks/vonage/{carrier_id}/status",
  operationId: "vonageStatusCallback",
  tags: callbackTags,
  summary: "Vonage delivery receipt",
  description:
    "Form-encoded or JSON, signed with the carrier's `signature_secret`: a signed JWT in `Authorization` " +
    "(with `payload_hash`), or the SMS API `sig` parameter. Unsigned receipts are refused.",
  request: {
    params: CarrierIdParam,
    query: MessageIdQuery,
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": { schema: VonageStatusForm },
        "application/json": { schema: VonageStatusForm },
      },
    },
  },
  responses: callbackResponses,
});

router.use("/callbacks/*", limitBody(CALLBACK_BODY_LIMIT));

/** Applies a parsed status report; a carrier-side opt-out also unsubscribes the phone. */
export async function applyUpdate(
  carrier: CallbackCarrier,
  update: CarrierStatusUpdate | null,
): Promise<void> {
  if (!update) return;
  const outcome = await applyStatusUpdate(carrier.ctx, carrier.row, update);
  if (update.optedOut && outcome.phone) {
    await applyCarrierOptOut(carrier.ctx, outcome.phone, {
      provider: carrier.row.provider,
      errorCode: update.errorCode,
      errorMessage: update.errorMessage,
    });
  }
}

router.post("/callbacks/twilio/:carrier_id/status", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "twilio", c.req.param("carrier_id"));
  const raw = await rawText(c.req.raw);
  if (
    !(await verifyTwilioRequest(carrier.config, c.req.raw, raw, publicCallbackUrl(carrier.row, c.req.url)))
  ) {
    throw forbiddenSignature("Twilio");
  }
  await applyUpdate(carrier, parseTwilioStatus(new URLSearchParams(raw), c.req.query("message_id")));
  return c.body(null, 204);
});

router.post("/callbacks/telnyx/:carrier_id", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "telnyx", c.req.param("carrier_id"));
  const raw = await rawText(c.req.raw);
  if (!(await verifyTelnyxRequest(carrier.config, c.req.raw, raw))) throw forbiddenSignature("Telnyx");
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return c.body(null, 204);
  }
  const inbound = parseTelnyxInbound(body);
  if (inbound) {
    await handleInboundSms(carrier.ctx, { id: carrier.row.id, provider: carrier.row.provider }, inbound);
    return c.body(null, 204);
  }
  await applyUpdate(carrier, parseTelnyxStatus(body, c.req.query("message_id")));
  return c.body(null, 204);
});

router.post("/callbacks/vonage/:carrier_id/status", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "vonage", c.req.param("carrier_id"));
  const raw = await rawText(c.req.raw);
  if (!(await verifyVonageRequest(carrier.config, c.req.raw, raw))) throw forbiddenSignature("Vonage");
  const params = vonageParams(c.req.header("content-type") ?? null, raw);
  await applyUpdate(carrier, parseVonageStatus(params, c.req.query("message_id")));
  return c.body(null, 204);
});

export const callbackRoutes = router;
