import { checkOutboundUrl } from "../domain/url-guard";
import type { CarrierConfig, SendResult } from "./types";

/** A carrier call that has not answered by then is abandoned (it may still have been accepted). */
export const CARRIER_TIMEOUT_MS = 10_000;

/** `Retry-After` as seconds (delta-seconds or an HTTP date), when present and sane. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The longest part of a redirect's `Location` kept in the error message. */
const MAX_LOCATION_SHOWN = 200;

/**
 * Calls a carrier API with a timeout, under the URL guard, never following a redirect.
 *
 * - The URL is checked again right before the call (`config.outbound`, production when absent):
 *   a `base_url` stored before a rule existed, or under another ENVIRONMENT, cannot reach a private
 *   address. A refused URL makes no request and is a retryable `url_refused` result: it is the
 *   carrier's configuration, not the message, that is wrong, so the dispatcher fails over to the
 *   next carrier (as for a 401/403 account error), and a fixed `base_url` is used on the next try.
 * - `redirect: "manual"`: a 3xx is not followed (it could point anywhere, private addresses
 *   included). Twilio, Telnyx and Vonage never redirect a send, so a 3xx means a misconfigured
 *   `base_url` or proxy that did not create the message: a retryable `redirect_refused` result
 *   without `maybeAccepted` (retried with backoff, failing over to the next carrier).
 * - A thrown fetch (network error, timeout) becomes a retryable result with `maybeAccepted`: the
 *   request may have reached the carrier, so the dispatcher must not resend blindly.
 */
/** A JSON POST with a Bearer token (Telnyx, Sinch), through `carrierFetch`. */
export const bearerJsonInit = (token: string | undefined, body: unknown): RequestInit => ({
  method: "POST",
  headers: {
    authorization: `Bearer ${token ?? ""}`,
    "content-type": "application/json",
    accept: "application/json",
  },
  body: JSON.stringify(body),
});

export async function carrierFetch(
  config: Pick<CarrierConfig, "outbound">,
  url: string,
  init: RequestInit,
  timeoutMs = CARRIER_TIMEOUT_MS,
): Promise<{ ok: true; response: Response } | { ok: false; result: SendResult }> {
  const refused = checkOutboundUrl(url, config.outbound ?? { production: true });
  if (refused) {
    return {
      ok: false,
      result: {
        outcome: "retryable",
        errorCode: "url_refused",
        errorMessage: `The carrier's base_url is refused by the URL guard: it ${refused}`,
      },
    };
  }
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      ok: false,
      result: {
        outcome: "retryable",
        errorCode: timedOut ? "timeout" : "network_error",
        errorMessage: timedOut
          ? `The carrier did not answer within ${Math.round(timeoutMs / 1000)} s`
          : `Could not reach the carrier: ${err instanceof Error ? err.message : String(err)}`,
        maybeAccepted: true,
      },
    };
  }
  if (response.status >= 300 && response.status < 400) {
    const location = (response.headers.get("location") ?? "").slice(0, MAX_LOCATION_SHOWN);
    await response.body?.cancel();
    return {
      ok: false,
      result: {
        outcome: "retryable",
        errorCode: "redirect_refused",
        errorMessage: `The carrier answered HTTP ${response.status}${location ? ` (to ${location})` : ""}; Herald never follows redirects: check the carrier's base_url`,
      },
    };
  }
  return { ok: true, response };
}

/** Response body as JSON, or null when it is not JSON. */
export async function jsonOrNull(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** 429 and 5xx are worth another try (408 too: the carrier gave up waiting for us). */
export const isRetryableStatus = (status: number): boolean =>
  status === 429 || status === 408 || status >= 500;

/** A carrier rejecting our credentials or account is not the message's fault: fail over. */
export const isAccountStatus = (status: number): boolean => status === 401 || status === 403;

/** Joins a base origin (maybe with a path prefix) and an API path. */
export const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, "")}${path}`;

export const asRecord = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export const asString = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
