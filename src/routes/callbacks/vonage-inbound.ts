import { createRoute, z } from "@hono/zod-openapi";
import { parseVonageInbound, verifyVonageRequest, vonageParams } from "../../carriers/vonage/webhooks";
import { createRouter } from "../../lib/openapi";
import { limitBody } from "../../middleware/request";
import { callbackCarrier } from "../../services/carriers/callback";
import { handleInboundSms } from "../../services/inbound/handle";
import {
  CALLBACK_BODY_LIMIT,
  CarrierIdParam,
  callbackResponses,
  callbackTags,
  forbiddenSignature,
} from "./shared";

const VonageInbound = z
  .object({
    msisdn: z.string().openapi({ description: "The sender, digits only.", example: "12125550142" }),
    to: z.string().openapi({ description: "Your number that received it.", example: "12125550100" }),
    text: z.string().openapi({ description: "The text.", example: "STOP" }),
    messageId: z
      .string()
      .optional()
      .openapi({ description: "Vonage's message id.", example: "0A0000000123ABCD1" }),
    sig: z.string().optional().openapi({ description: "The SMS API signature.", example: "a1b2c3…" }),
  })
  .openapi("VonageInboundCallback");

const vonageInboundRoute = createRoute({
  method: "post",
  path: "/callbacks/vonage/{carrier_id}/inbound",
  operationId: "vonageInboundCallback",
  tags: callbackTags,
  summary: "Vonage inbound SMS",
  description:
    "Form-encoded or JSON, signed with the carrier's `signature_secret` (JWT or `sig`). STOP/START/HELP keyword " +
    "families, and replies that ask to stop in other words (consent source `sms_phrase`), change consent and are " +
    "answered once by SMS; other texts are stored and sent to webhooks as `message.received`. A retry of the same " +
    "`messageId` completes what an earlier attempt left undone and changes nothing else.",
  request: {
    params: CarrierIdParam,
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": { schema: VonageInbound },
        "application/json": { schema: VonageInbound },
      },
    },
  },
  responses: callbackResponses,
});

const router = createRouter();
router.use("/callbacks/vonage/:carrier_id/inbound", limitBody(CALLBACK_BODY_LIMIT));
router.openAPIRegistry.registerPath(vonageInboundRoute);

router.post("/callbacks/vonage/:carrier_id/inbound", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "vonage", c.req.param("carrier_id"));
  // Read as bytes: workerd warns about .text() on a form body, and the signature needs the exact text.
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  if (!(await verifyVonageRequest(carrier.config, c.req.raw, raw))) throw forbiddenSignature("Vonage");
  const sms = parseVonageInbound(vonageParams(c.req.header("content-type") ?? null, raw));
  if (sms) await handleInboundSms(carrier.ctx, { id: carrier.row.id, provider: "vonage" }, sms);
  return c.body(null, 204);
});

export const vonageInboundRoutes = router;
