import {
  asRecord,
  asString,
  carrierFetch,
  isRetryableStatus,
  joinUrl,
  jsonOrNull,
  retryAfterSeconds,
} from "../http";
import type { CarrierAdapter, CarrierConfig, SendRequest, SendResult } from "../types";

/** Vonage SMS API origin. */
export const VONAGE_ORIGIN = "https://rest.nexmo.com";

/** Vonage caps `callback` at 100 characters; longer URLs fall back to the dashboard's, matched by client-ref. */
const VONAGE_MAX_CALLBACK = 100;

/**
 * SMS API submit statuses. 1 throttled and 5 internal error: retry. 4 invalid credentials,
 * 8 account barred, 9 quota: the account, not the message — another carrier may send it.
 * 7 number barred: the recipient is on the blocked list (opted out). Others are permanent.
 */
const VONAGE_RETRYABLE = new Set(["1", "4", "5", "8", "9"]);
export const VONAGE_OPT_OUT_STATUSES = new Set(["7"]);

const GSM7 =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f";
const GSM7_SET = new Set([...GSM7]);

/** Vonage needs `type=unicode` for bodies outside the GSM-7 alphabet. */
export const needsUnicode = (text: string): boolean => [...text].some((ch) => !GSM7_SET.has(ch));

/** The form of Vonage's `POST /sms/json` for one send. Numbers go without the leading `+`. */
export function vonageSmsForm(config: CarrierConfig, req: SendRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.set("api_key", config.credentials.api_key ?? "");
  form.set("api_secret", config.credentials.api_secret ?? "");
  form.set("from", (req.from ?? "").replace(/^\+/, ""));
  form.set("to", req.to.replace(/^\+/, ""));
  form.set("text", req.body);
  form.set("type", needsUnicode(req.body) ? "unicode" : "text");
  form.set("client-ref", req.messageId);
  form.set("status-report-req", "true");
  if (req.statusCallbackUrl && req.statusCallbackUrl.length <= VONAGE_MAX_CALLBACK) {
    form.set("callback", req.statusCallbackUrl);
  }
  if (req.validitySeconds !== undefined) {
    // ttl is in milliseconds, 20 000 to 604 800 000.
    const ttl = Math.min(604_800_000, Math.max(20_000, Math.floor(req.validitySeconds * 1000)));
    form.set("ttl", String(ttl));
  }
  return form;
}

export async function classifyVonageResponse(res: Response): Promise<SendResult> {
  const body = asRecord(await jsonOrNull(res));
  if (res.status !== 200) {
    const message =
      asString(body["error-text"]) ?? asString(body.title) ?? `Vonage answered HTTP ${res.status}`;
    if (isRetryableStatus(res.status) || res.status === 401 || res.status === 403) {
      return {
        outcome: "retryable",
        errorCode: `http_${res.status}`,
        errorMessage: message,
        retryAfterSeconds: retryAfterSeconds(res.headers.get("retry-after")),
      };
    }
    return { outcome: "permanent", errorCode: `http_${res.status}`, errorMessage: message };
  }
  const first = Array.isArray(body.messages) ? asRecord(body.messages[0]) : {};
  const status = asString(first.status);
  const id = asString(first["message-id"]);
  if (status === "0" && id) return { outcome: "accepted", carrierMessageId: id, status: "sent" };
  if (status === undefined) {
    return {
      outcome: "retryable",
      errorCode: "http_200",
      errorMessage: "Vonage answered without a message status",
      maybeAccepted: true,
    };
  }
  const message = asString(first["error-text"]) ?? `Vonage status ${status}`;
  if (VONAGE_RETRYABLE.has(status)) return { outcome: "retryable", errorCode: status, errorMessage: message };
  return {
    outcome: "permanent",
    errorCode: status,
    errorMessage: message,
    ...(VONAGE_OPT_OUT_STATUSES.has(status) ? { optedOut: true } : {}),
  };
}

export const vonageAdapter: CarrierAdapter = {
  provider: "vonage",
  async send(config: CarrierConfig, req: SendRequest): Promise<SendResult> {
    const call = await carrierFetch(config, joinUrl(config.baseUrl ?? VONAGE_ORIGIN, "/sms/json"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: vonageSmsForm(config, req).toString(),
    });
    if (!call.ok) return call.result;
    return classifyVonageResponse(call.response);
  },
};
