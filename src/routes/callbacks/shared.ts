import { z } from "@hono/zod-openapi";
import { errorResponses, HttpProblem } from "../../lib/problem";
import type { CarrierRow } from "../../services/carriers/config";

/** Carrier callbacks are bounded like storefront hooks. */
export const CALLBACK_BODY_LIMIT = 256 * 1024;

export const callbackTags = ["Carrier callbacks"];

export const CarrierIdParam = z.object({
  carrier_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({
      param: { name: "carrier_id", in: "path" },
      description: "The carrier the callback URL was issued for.",
      example: "car_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
});

export const MessageIdQuery = z.object({
  message_id: z
    .string()
    .optional()
    .openapi({
      param: { name: "message_id", in: "query" },
      description:
        "Herald's message id, put in the per-message callback URL at send time. Twilio signs the URL; for Telnyx and Vonage the query is not signed, so it is only a hint: the signed ids in the body win.",
      example: "msg_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
});

/** The responses every carrier callback documents. */
export const callbackResponses = {
  204: { description: "Accepted (also for duplicates and for states that change nothing)" },
  ...errorResponses(403, 404, 413),
};

/** The URL the carrier was given (and signed): the carrier's callback origin + path + query. */
export function publicCallbackUrl(row: Pick<CarrierRow, "callbackOrigin">, requestUrl: string): string {
  const u = new URL(requestUrl);
  return `${row.callbackOrigin}${u.pathname}${u.search}`;
}

export const forbiddenSignature = (provider: string): HttpProblem =>
  new HttpProblem("forbidden", `The ${provider} callback signature is missing or does not match`);

/**
 * The raw body as text, for signature checks. Read as bytes: workerd warns when `.text()` is
 * called on a form-encoded body, though the bytes are exactly what the carrier signed.
 */
export async function rawText(request: Request): Promise<string> {
  return new TextDecoder().decode(await request.arrayBuffer());
}
