import type { SendResult } from "./types";

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

/**
 * Calls a carrier API with a timeout. A thrown fetch (network error, timeout) becomes a retryable
 * result with `maybeAccepted`: the request may have reached the carrier, so the dispatcher must not
 * resend blindly.
 */
export async function carrierFetch(
  url: string,
  init: RequestInit,
  timeoutMs = CARRIER_TIMEOUT_MS,
): Promise<{ ok: true; response: Response } | { ok: false; result: SendResult }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return { ok: true, response };
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
