import { createRoute, z } from "@hono/zod-openapi";
import { parseSinchEvent, verifySinchRequest } from "../../carriers/sinch/webhooks";
import { createRouter } from "../../lib/openapi";
import { limitBody } from "../../middleware/request";
import { callbackCarrier } from "../../services/carriers/callback";
import { pendingMessageFor } from "../../services/carriers/pending-match";
import { handleInboundSms } from "../../services/inbound/handle";
import { applyUpdate } from "./index";
import {
  CALLBACK_BODY_LIMIT,
  CarrierIdParam,
  callbackResponses,
  callbackTags,
  forbiddenSignature,
  rawText,
} from "./shared";

const SinchCallback = z
  .object({
    type: z.string().openapi({
      description: "`recipient_delivery_report_sms` (a delivery report) or `mo_text` (an inbound text).",
      example: "recipient_delivery_report_sms",
    }),
    batch_id: z
      .string()
      .optional()
      .openapi({ description: "Delivery report: the batch.", example: "01FC66621VHDBN119Z8PMV1QPQ" }),
    recipient: z
      .string()
      .optional()
      .openapi({ description: "Delivery report: the recipient (MSISDN).", example: "15551231234" }),
    status: z.string().optional().openapi({
      description:
        "Delivery report: Queued, Dispatched, Aborted, Cancelled, Rejected, Deleted, Delivered, Failed, Expired, Unknown.",
      example: "Delivered",
    }),
    code: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Delivery report: the detailed status code.", example: 0 }),
    client_reference: z.string().optional().openapi({
      description: "Delivery report: Herald's message id (one-message batches).",
      example: "msg_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
    id: z
      .string()
      .optional()
      .openapi({ description: "Inbound: Sinch's id of the text.", example: "01FC66621VHDBN119Z8PMV1QPA" }),
    from: z
      .string()
      .optional()
      .openapi({ description: "Inbound: the sender (MSISDN).", example: "15551231234" }),
    to: z
      .string()
      .optional()
      .openapi({ description: "Inbound: your number that received it.", example: "15557654321" }),
    body: z.string().optional().openapi({ description: "Inbound: the text.", example: "STOP" }),
  })
  .openapi("SinchCallback");

const TokenQuery = z.object({
  token: z
    .string()
    .optional()
    .openapi({
      param: { name: "token", in: "query" },
      description:
        "The carrier's secret callback token, part of the URL Herald gives Sinch. Verifies the callback when the " +
        "carrier has no `callback_secret`.",
      example: "Q2hhbmdlTWUtdGhpcy1pcy1hbi1leGFtcGxl",
    }),
});

const sinchRoute = createRoute({
  method: "post",
  path: "/callbacks/sinch/{carrier_id}",
  operationId: "sinchCallback",
  tags: callbackTags,
  summary: "Sinch delivery report or inbound SMS",
  description:
    "One URL for both, as Sinch posts delivery reports (`recipient_delivery_report_sms`, requested per recipient) " +
    "and inbound texts (`mo_text`) to the service plan's callback URL. Verified before the body is read: with the " +
    "carrier's `callback_secret`, Sinch's HMAC signature (`x-sinch-webhook-signature` over " +
    "`body.nonce.timestamp`, with `x-sinch-webhook-signature-nonce`, `-timestamp` and `-algorithm`) is required; " +
    "without it, the URL's secret `token`. Unverifiable → 403. Reports move statuses only forward; inbound texts " +
    "go through the keyword, revocation and `message.received` handling of every carrier.",
  request: {
    params: CarrierIdParam,
    query: TokenQuery,
    body: { required: true, content: { "application/json": { schema: SinchCallback } } },
  },
  responses: callbackResponses,
});

const router = createRouter();
router.use("/callbacks/sinch/:carrier_id", limitBody(CALLBACK_BODY_LIMIT));
// The body is read raw (the signature covers its exact bytes): documented here, handled below.
router.openAPIRegistry.registerPath(sinchRoute);

router.post("/callbacks/sinch/:carrier_id", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "sinch", c.req.param("carrier_id"));
  const raw = await rawText(c.req.raw);
  if (!(await verifySinchRequest(carrier.config, c.req.raw, raw, c.req.query("token")))) {
    throw forbiddenSignature("Sinch");
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return c.body(null, 204);
  }
  const event = parseSinchEvent(body);
  if (event.kind === "inbound") {
    await handleInboundSms(carrier.ctx, { id: carrier.row.id, provider: "sinch" }, event.sms);
  } else if (event.kind === "status") {
    const update = event.update;
    // A report of a batch of several names no message of ours: one still waiting for its batch id
    // (the send's answer not yet recorded, or lost) is the hint, when it is the only one to that phone.
    if (!update.messageIdHint && update.recipient) {
      const pending = await pendingMessageFor(carrier.ctx, carrier.row.id, update.recipient);
      if (pending) update.messageIdHint = pending;
    }
    await applyUpdate(carrier, update);
  }
  return c.body(null, 204);
});

export const sinchCallbackRoutes = router;
