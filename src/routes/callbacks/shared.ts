import { z } from "@hono/zod-openapi";
import type { CarrierConfig, Provider } from "../../carriers/types";
import type { Env } from "../../env";
import { errorResponses, HttpProblem, notFound } from "../../lib/problem";
import { type CarrierRow, findCarrierForCallback, loadCarrierConfig } from "../../services/carriers/config";
import { type ServiceContext, serviceContext } from "../../services/context";

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

export interface CallbackCarrier {
  row: CarrierRow;
  config: CarrierConfig;
  ctx: ServiceContext;
}

/**
 * The carrier a callback URL names, deleted or not (a deleted carrier's callbacks still verify),
 * with its credentials decrypted and a service context for its tenant. 404 when unknown or of
 * another provider.
 */
export async function callbackCarrier(
  env: Env,
  provider: Provider,
  carrierId: string,
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<CallbackCarrier> {
  const base = serviceContext(env, "", waitUntil);
  const row = await findCarrierForCallback(base, carrierId);
  if (!row || row.provider !== provider) throw notFound("Carrier");
  const ctx = serviceContext(env, row.tenantId, waitUntil);
  return { row, config: await loadCarrierConfig(ctx, row), ctx };
}

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
