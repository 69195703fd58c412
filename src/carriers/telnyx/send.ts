import {
  asRecord,
  asString,
  bearerJsonInit,
  carrierFetch,
  isAccountStatus,
  isRetryableStatus,
  joinUrl,
  jsonOrNull,
  retryAfterSeconds,
} from "../http";
import type { CarrierAdapter, CarrierConfig, SendRequest, SendResult } from "../types";

export const TELNYX_ORIGIN = "https://api.telnyx.com";

/** Telnyx error codes that mean the recipient opted out (40300: blocked due to a STOP message). */
export const TELNYX_OPT_OUT_CODES = new Set(["40300"]);

/** First error of a Telnyx error body `{errors: [{code, title, detail}]}`. */
export function telnyxError(body: unknown): { code?: string; message?: string } {
  const errors = asRecord(body).errors;
  const first = Array.isArray(errors) ? asRecord(errors[0]) : {};
  const code = asString(first.code);
  const message = asString(first.detail) ?? asString(first.title);
  return { code, message };
}

/** The JSON body of Telnyx's `POST /v2/messages` for one send. */
export function telnyxMessageBody(req: SendRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { to: req.to, text: req.body };
  if (req.from) body.from = req.from;
  // Without a `from`, a messaging profile's number pool picks the sender.
  if (!req.from && req.messagingServiceSid) body.messaging_profile_id = req.messagingServiceSid;
  if (req.statusCallbackUrl) {
    body.webhook_url = req.statusCallbackUrl;
    body.use_profile_webhooks = false;
  }
  return body;
}

export async function classifyTelnyxResponse(res: Response): Promise<SendResult> {
  const body = await jsonOrNull(res);
  if (res.status >= 200 && res.status < 300) {
    const id = asString(asRecord(asRecord(body).data).id);
    if (id) return { outcome: "accepted", carrierMessageId: id, status: "sent" };
    return {
      outcome: "retryable",
      errorCode: `http_${res.status}`,
      errorMessage: "Telnyx answered without a message id",
      maybeAccepted: true,
    };
  }
  const err = telnyxError(body);
  const code = err.code ?? `http_${res.status}`;
  const message = err.message ?? `Telnyx answered HTTP ${res.status}`;
  if (isRetryableStatus(res.status)) {
    return {
      outcome: "retryable",
      errorCode: code,
      errorMessage: message,
      retryAfterSeconds: retryAfterSeconds(res.headers.get("retry-after")),
    };
  }
  if (isAccountStatus(res.status) && !TELNYX_OPT_OUT_CODES.has(code)) {
    return { outcome: "retryable", errorCode: code, errorMessage: message };
  }
  return {
    outcome: "permanent",
    errorCode: code,
    errorMessage: message,
    ...(TELNYX_OPT_OUT_CODES.has(code) ? { optedOut: true } : {}),
  };
}

export const telnyxAdapter: CarrierAdapter = {
  provider: "telnyx",
  async send(config: CarrierConfig, req: SendRequest): Promise<SendResult> {
    const call = await carrierFetch(
      config,
      joinUrl(config.baseUrl ?? TELNYX_ORIGIN, "/v2/messages"),
      bearerJsonInit(config.credentials.api_key, telnyxMessageBody(req)),
    );
    if (!call.ok) return call.result;
    return classifyTelnyxResponse(call.response);
  },
};
