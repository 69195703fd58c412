import {
  asRecord,
  asString,
  bearerJsonInit,
  carrierFetch,
  isRetryableStatus,
  joinUrl,
  jsonOrNull,
  retryAfterSeconds,
} from "../http";
import type { CarrierAdapter, CarrierConfig, SendRequest, SendResult } from "../types";

/**
 * Sinch SMS REST API ("xms"): `POST /xms/v1/{service_plan_id}/batches`, Bearer `api_token`.
 * The shapes relied on are recorded, with their sources, in test/fixtures/sinch/.
 */
export const SINCH_ORIGIN = "https://us.sms.api.sinch.com";

/** Recipients per batch Herald sends (Sinch takes up to 1,000 `to` entries per batch). */
export const SINCH_MAX_RECIPIENTS = 1000;

/** `expire_at`: Sinch's default and maximum is 3 days after sending. */
export const SINCH_MAX_VALIDITY_SECONDS = 3 * 24 * 3600;

/** The parameter carrying each recipient's rendered body; the batch body is only its placeholder. */
export const SINCH_BODY_PARAMETER = "body";
const BODY_PLACEHOLDER = `\${${SINCH_BODY_PARAMETER}}`;

/**
 * 403 codes about the recipient, not the account: never retried. Any other 403 (blocked_account,
 * missing_callback_url…) and 401 are the account's: fail over to the next carrier.
 */
export const SINCH_PERMANENT_403 = new Set(["illegal_number_type", "unprovisioned_region"]);

/** 400 codes about the request as a whole (Herald's bug, not a recipient's): splitting cannot help. */
export const SINCH_REQUEST_ERRORS = new Set(["syntax_invalid_json", "syntax_constraint_violation"]);

const digits = (phone: string): string => phone.replace(/\D/g, "");

/** Sinch names recipients by MSISDN: the E.164 digits without `+` (as its reports and inbounds do). */
export const sinchMsisdn = (e164: string): string => digits(e164);

/** Our carrier message id for one recipient of one batch: what its delivery reports name. */
export const sinchCarrierMessageId = (batchId: string, recipient: string): string =>
  `${batchId}:${digits(recipient)}`;

/**
 * Splits requests into batches Sinch can take: one `from` per batch, each recipient at most once
 * per batch (its parameter value and its delivery report are keyed by the MSISDN), at most
 * `SINCH_MAX_RECIPIENTS` each. Returns indexes into `reqs`, in order.
 */
export function planSinchBatches(reqs: SendRequest[], max = SINCH_MAX_RECIPIENTS): number[][] {
  const open = new Map<string, { idx: number[]; to: Set<string> }[]>();
  const all: { idx: number[]; to: Set<string> }[] = [];
  reqs.forEach((req, i) => {
    const from = req.from ?? "";
    const msisdn = sinchMsisdn(req.to);
    const batches = open.get(from) ?? [];
    let batch = batches.find((b) => b.idx.length < max && !b.to.has(msisdn));
    if (!batch) {
      batch = { idx: [], to: new Set() };
      batches.push(batch);
      all.push(batch);
      open.set(from, batches);
    }
    batch.idx.push(i);
    batch.to.add(msisdn);
  });
  return all.map((b) => b.idx);
}

/** The batch callback URL: the carrier's callback URL (with its token), without a per-message id. */
function batchCallbackUrl(statusCallbackUrl: string): string | undefined {
  if (!statusCallbackUrl) return undefined;
  try {
    const u = new URL(statusCallbackUrl);
    u.searchParams.delete("message_id");
    return u.toString();
  } catch {
    return undefined;
  }
}

/**
 * The JSON body of one Sinch batch (one `from`, distinct recipients): the body is the `${body}`
 * placeholder and `parameters.body` maps each MSISDN to its own rendered text, so a body is never
 * read as a template itself; per-recipient delivery reports to the carrier's callback URL. A batch
 * of one carries our message id as `client_reference` (echoed in its reports: a callback still
 * finds the message when the create response was lost). `expire_at` is the earliest validity end.
 */
export function sinchBatchBody(reqs: SendRequest[], nowMs = Date.now()): Record<string, unknown> {
  const first = reqs[0];
  if (!first) throw new Error("a Sinch batch needs at least one message");
  const values: Record<string, string> = {};
  for (const r of reqs) values[sinchMsisdn(r.to)] = r.body;
  const body: Record<string, unknown> = {
    to: reqs.map((r) => sinchMsisdn(r.to)),
    body: BODY_PLACEHOLDER,
    parameters: { [SINCH_BODY_PARAMETER]: values },
    type: "mt_text",
    delivery_report: "per_recipient",
  };
  if (first.from) body.from = sinchMsisdn(first.from);
  const callback = batchCallbackUrl(first.statusCallbackUrl);
  if (callback) body.callback_url = callback;
  if (reqs.length === 1) body.client_reference = first.messageId;
  const validities = reqs.flatMap((r) => (r.validitySeconds === undefined ? [] : [r.validitySeconds]));
  if (validities.length > 0) {
    const seconds = Math.min(SINCH_MAX_VALIDITY_SECONDS, Math.max(1, Math.floor(Math.min(...validities))));
    body.expire_at = new Date(nowMs + seconds * 1000).toISOString();
  }
  return body;
}

/** A Sinch error body `{code, text}` (400 and 403 carry one). */
export function sinchError(body: unknown): { code?: string; text?: string } {
  const r = asRecord(body);
  return { code: asString(r.code), text: asString(r.text) ?? asString(r.message) };
}

type BatchAnswer =
  /**
   * The batch was refused as a whole (4xx): no message of it was created. `splittable` when the
   * refusal may be about one recipient (a malformed or illegal number), not the request itself.
   */
  { refused: true; splittable: boolean; result: SendResult } | { refused: false; results: SendResult[] };

/** Sinch's answer to one batch, per request (in the order of `reqs`). */
export async function classifySinchResponse(res: Response, reqs: SendRequest[]): Promise<BatchAnswer> {
  const body = await jsonOrNull(res);
  if (res.status >= 200 && res.status < 300) {
    const id = asString(asRecord(body).id);
    if (!id) {
      const result: SendResult = {
        outcome: "retryable",
        errorCode: `http_${res.status}`,
        errorMessage: "Sinch answered without a batch id",
        maybeAccepted: true,
      };
      return { refused: false, results: reqs.map(() => result) };
    }
    const listed = asRecord(body).to;
    const accepted = Array.isArray(listed) ? new Set(listed.map((t) => digits(String(t)))) : null;
    const results = reqs.map((r): SendResult => {
      const msisdn = sinchMsisdn(r.to);
      if (accepted && !accepted.has(msisdn)) {
        return {
          outcome: "permanent",
          errorCode: "recipient_rejected",
          errorMessage: "Sinch created the batch without this recipient",
        };
      }
      return { outcome: "accepted", carrierMessageId: sinchCarrierMessageId(id, msisdn), status: "sent" };
    });
    return { refused: false, results };
  }
  const err = sinchError(body);
  const code = err.code ?? `http_${res.status}`;
  const message = err.text ?? `Sinch answered HTTP ${res.status}`;
  let result: SendResult;
  if (isRetryableStatus(res.status)) {
    result = {
      outcome: "retryable",
      errorCode: code,
      errorMessage: message,
      retryAfterSeconds: retryAfterSeconds(res.headers.get("retry-after")),
    };
    return { refused: false, results: reqs.map(() => result) };
  }
  if (res.status === 401 || (res.status === 403 && !SINCH_PERMANENT_403.has(code))) {
    // The account (token, service plan, blocked): another carrier may still send these.
    result = { outcome: "retryable", errorCode: code, errorMessage: message };
    return { refused: false, results: reqs.map(() => result) };
  }
  return {
    refused: true,
    splittable: !SINCH_REQUEST_ERRORS.has(code),
    result: { outcome: "permanent", errorCode: code, errorMessage: message },
  };
}

async function postBatch(config: CarrierConfig, reqs: SendRequest[]): Promise<BatchAnswer> {
  const plan = encodeURIComponent(config.credentials.service_plan_id ?? "");
  const call = await carrierFetch(
    config,
    joinUrl(config.baseUrl ?? SINCH_ORIGIN, `/xms/v1/${plan}/batches`),
    bearerJsonInit(config.credentials.api_token, sinchBatchBody(reqs)),
  );
  if (!call.ok) return { refused: false, results: reqs.map(() => call.result) };
  return classifySinchResponse(call.response, reqs);
}

/**
 * One batch; when Sinch refuses a batch of several as a whole (a 400 for one malformed number, a
 * 403 for one illegal number type), it is split in halves until the culprit stands alone, so one
 * bad recipient never fails the rest. A refusal created nothing, so the halves are no resend.
 */
async function sendBatch(config: CarrierConfig, reqs: SendRequest[]): Promise<SendResult[]> {
  const answer = await postBatch(config, reqs);
  if (!answer.refused) return answer.results;
  if (reqs.length === 1 || !answer.splittable) return reqs.map(() => answer.result);
  const mid = Math.ceil(reqs.length / 2);
  const [a, b] = await Promise.all([
    sendBatch(config, reqs.slice(0, mid)),
    sendBatch(config, reqs.slice(mid)),
  ]);
  return [...a, ...b];
}

export async function sinchSendMany(config: CarrierConfig, reqs: SendRequest[]): Promise<SendResult[]> {
  const results: SendResult[] = new Array(reqs.length);
  await Promise.all(
    planSinchBatches(reqs).map(async (idx) => {
      const out = await sendBatch(
        config,
        idx.map((i) => reqs[i] as SendRequest),
      );
      idx.forEach((i, k) => {
        results[i] = out[k] as SendResult;
      });
    }),
  );
  return results;
}

export const sinchAdapter: CarrierAdapter = {
  provider: "sinch",
  async send(config: CarrierConfig, req: SendRequest): Promise<SendResult> {
    const [result] = await sinchSendMany(config, [req]);
    return result as SendResult;
  },
  sendMany: sinchSendMany,
};
