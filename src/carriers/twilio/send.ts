import {
  asRecord,
  asString,
  carrierFetch,
  isAccountStatus,
  isRetryableStatus,
  joinUrl,
  jsonOrNull,
  retryAfterSeconds,
} from "../http";
import type { CarrierAdapter, CarrierConfig, SendRequest, SendResult } from "../types";

export const TWILIO_ORIGIN = "https://api.twilio.com";

/** Twilio accepts ValidityPeriod from 1 to 36000 seconds. */
export const TWILIO_MAX_VALIDITY = 36_000;

/** Twilio error codes that mean the recipient opted out at the carrier. */
export const TWILIO_OPT_OUT_CODES = new Set(["21610"]);

/**
 * Codes about the recipient or the message itself: never retried.
 * 21211 invalid To, 21214 To not reachable, 21408 region not enabled, 21610 opted out (STOP),
 * 21612 To not reachable from this From, 21614 not a mobile number, 21617 body too long, 21635 landline.
 */
export const TWILIO_PERMANENT_CODES = new Set([
  "21211",
  "21214",
  "21408",
  "21610",
  "21612",
  "21614",
  "21617",
  "21635",
]);

/** The form fields of Twilio's CreateMessage for one send. */
export function twilioCreateMessageForm(req: SendRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.set("To", req.to);
  if (req.messagingServiceSid) form.set("MessagingServiceSid", req.messagingServiceSid);
  else if (req.from) form.set("From", req.from);
  form.set("Body", req.body);
  if (req.statusCallbackUrl) form.set("StatusCallback", req.statusCallbackUrl);
  if (req.validitySeconds !== undefined) {
    const v = Math.min(TWILIO_MAX_VALIDITY, Math.max(1, Math.floor(req.validitySeconds)));
    form.set("ValidityPeriod", String(v));
  }
  return form;
}

/** Twilio's answer to CreateMessage, in Herald's words. */
export async function classifyTwilioResponse(res: Response): Promise<SendResult> {
  const body = asRecord(await jsonOrNull(res));
  if (res.status === 201 || res.status === 200) {
    const sid = asString(body.sid);
    if (sid) return { outcome: "accepted", carrierMessageId: sid, status: "sent" };
    return {
      outcome: "retryable",
      errorCode: `http_${res.status}`,
      errorMessage: "Twilio answered without a message sid",
      maybeAccepted: true,
    };
  }
  const code = asString(body.code) ?? `http_${res.status}`;
  const message = asString(body.message) ?? `Twilio answered HTTP ${res.status}`;
  if (isRetryableStatus(res.status) || code === "20429") {
    return {
      outcome: "retryable",
      errorCode: code,
      errorMessage: message,
      retryAfterSeconds: retryAfterSeconds(res.headers.get("retry-after")),
    };
  }
  if (TWILIO_PERMANENT_CODES.has(code) || !isAccountStatus(res.status)) {
    return {
      outcome: "permanent",
      errorCode: code,
      errorMessage: message,
      ...(TWILIO_OPT_OUT_CODES.has(code) ? { optedOut: true } : {}),
    };
  }
  // 401/403 on the account (bad credentials, suspended): another carrier may still send it.
  return { outcome: "retryable", errorCode: code, errorMessage: message };
}

export const twilioAdapter: CarrierAdapter = {
  provider: "twilio",
  async send(config: CarrierConfig, req: SendRequest): Promise<SendResult> {
    const accountSid = config.credentials.account_sid ?? "";
    const authToken = config.credentials.auth_token ?? "";
    const url = joinUrl(
      config.baseUrl ?? TWILIO_ORIGIN,
      `/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`,
    );
    const call = await carrierFetch(config, url, {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${accountSid}:${authToken}`)}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: twilioCreateMessageForm(req).toString(),
    });
    if (!call.ok) return call.result;
    return classifyTwilioResponse(call.response);
  },
};
