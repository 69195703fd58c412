import { createRoute, z } from "@hono/zod-openapi";
import { parseTwilioInbound, verifyTwilioRequest } from "../../carriers/twilio/webhooks";
import { createRouter } from "../../lib/openapi";
import { errorResponses } from "../../lib/problem";
import { limitBody } from "../../middleware/request";
import { callbackCarrier } from "../../services/carriers/callback";
import { handleInboundSms } from "../../services/inbound/handle";
import {
  CALLBACK_BODY_LIMIT,
  CarrierIdParam,
  callbackTags,
  forbiddenSignature,
  publicCallbackUrl,
} from "./shared";

const TwilioInboundForm = z
  .object({
    MessageSid: z
      .string()
      .openapi({ description: "Twilio's message sid.", example: "SM0123456789abcdef0123456789abcdef" }),
    From: z.string().openapi({ description: "The sender (E.164).", example: "+12125550142" }),
    To: z.string().openapi({ description: "Your number that received it.", example: "+12125550100" }),
    Body: z.string().openapi({ description: "The text.", example: "STOP" }),
    OptOutType: z.string().optional().openapi({
      description: "Set by Advanced Opt-Out when Twilio answered the keyword itself (STOP, START, HELP).",
      example: "STOP",
    }),
  })
  .openapi("TwilioInboundCallback");

const TwimlSchema = z.string().openapi({
  description: "TwiML: always an empty `<Response/>` (keyword replies are sent as outbox messages).",
  example: '<?xml version="1.0" encoding="UTF-8"?><Response/>',
});

const twilioInboundRoute = createRoute({
  method: "post",
  path: "/callbacks/twilio/{carrier_id}/inbound",
  operationId: "twilioInboundCallback",
  tags: callbackTags,
  summary: "Twilio inbound SMS",
  description:
    "Form-encoded, verified with `X-Twilio-Signature`. STOP/START/HELP keyword families, and replies that ask to " +
    'stop in other words ("please stop texting me", "no más mensajes"; consent source `sms_phrase`), change ' +
    "consent and are answered once (not at all when Advanced Opt-Out already answered) by an outbox message sent " +
    "through the REST API — so the reply is recovered if this process dies, and tracked to `delivered` by its " +
    "status callback; the TwiML answer is always empty. Other texts are stored and sent to webhooks as " +
    "`message.received`. The inbound row, the consent change, the cancellation, the reply and the webhooks are " +
    "written together; a retry of the same `MessageSid` completes what is still waiting and sends nothing twice.",
  request: {
    params: CarrierIdParam,
    body: { required: true, content: { "application/x-www-form-urlencoded": { schema: TwilioInboundForm } } },
  },
  responses: {
    200: { description: "TwiML answer", content: { "text/xml": { schema: TwimlSchema } } },
    ...errorResponses(403, 404, 413),
  },
});

/** TwiML that says nothing: Herald's replies go through the outbox, not inline. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const router = createRouter();
router.use("/callbacks/twilio/:carrier_id/inbound", limitBody(CALLBACK_BODY_LIMIT));

// The body is read raw (the signature covers the exact parameters), so the route is registered for
// the document and handled below without zod reading the form first.
router.openAPIRegistry.registerPath(twilioInboundRoute);

router.post("/callbacks/twilio/:carrier_id/inbound", async (c) => {
  const carrier = await callbackCarrier(c.var.baseServices, "twilio", c.req.param("carrier_id"));
  // Read as bytes: workerd warns about .text() on a form body, and the signature needs the exact text.
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  if (
    !(await verifyTwilioRequest(carrier.config, c.req.raw, raw, publicCallbackUrl(carrier.row, c.req.url)))
  ) {
    throw forbiddenSignature("Twilio");
  }
  const sms = parseTwilioInbound(new URLSearchParams(raw));
  if (sms) await handleInboundSms(carrier.ctx, { id: carrier.row.id, provider: "twilio" }, sms);
  // The keyword reply, if any, is an outbox message sent through the REST API: never inline TwiML.
  return c.body(EMPTY_TWIML, 200, { "content-type": "text/xml" });
});

export const twilioInboundRoutes = router;
