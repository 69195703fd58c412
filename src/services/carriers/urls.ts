import type { Provider } from "../../carriers/types";
import type { Env } from "../../env";
import { isProduction } from "../../env";
import { HttpProblem } from "../../lib/problem";

/**
 * The origin callback URLs are built from: PUBLIC_BASE_URL, else (development only) the origin of
 * the request that created the carrier. Production without PUBLIC_BASE_URL → 422: a carrier
 * would be handed URLs nobody can reach.
 */
export function callbackOrigin(
  env: Pick<Env, "ENVIRONMENT" | "PUBLIC_BASE_URL">,
  requestUrl: string,
): string {
  const configured = (env.PUBLIC_BASE_URL ?? "").trim();
  if (configured) {
    try {
      return new URL(configured).origin;
    } catch {
      // A malformed PUBLIC_BASE_URL is a deployment error; treat as missing.
    }
  }
  if (isProduction(env)) {
    throw new HttpProblem(
      "validation_failed",
      "PUBLIC_BASE_URL must be set in production to build the carrier's callback URLs",
      [{ path: "PUBLIC_BASE_URL", message: "must be set in production (the origin carriers call back)" }],
    );
  }
  return new URL(requestUrl).origin;
}

export interface CallbackTarget {
  id: string;
  provider: Provider;
  callbackOrigin: string;
  /** The secret token its callback URLs carry (Sinch, see `callbackToken`). */
  callbackToken?: string | null;
}

/** The URLs to paste in the carrier's console. The sandbox has none. */
export function callbackUrls(carrier: CallbackTarget): {
  status_callback_url: string | null;
  inbound_url: string | null;
} {
  const base = `${carrier.callbackOrigin}/callbacks/${carrier.provider}/${carrier.id}`;
  switch (carrier.provider) {
    case "twilio":
    case "vonage":
      return { status_callback_url: `${base}/status`, inbound_url: `${base}/inbound` };
    case "telnyx":
      return { status_callback_url: base, inbound_url: base };
    case "sinch": {
      // One URL: Sinch posts delivery reports and inbound texts to the same callback URL.
      const url = carrier.callbackToken ? `${base}?token=${encodeURIComponent(carrier.callbackToken)}` : base;
      return { status_callback_url: url, inbound_url: url };
    }
    case "sandbox":
      return { status_callback_url: null, inbound_url: null };
  }
}

/**
 * The per-message status callback handed to the carrier: it carries our message id, so a callback
 * can be matched even when the create response was lost. Empty for the sandbox.
 */
export function statusCallbackUrlFor(
  carrier: {
    id: string | null;
    provider: Provider;
    callbackOrigin?: string | null;
    callbackToken?: string | null;
  } | null,
  messageId: string,
): string {
  if (!carrier?.id || !carrier.callbackOrigin) return "";
  const url = callbackUrls({
    id: carrier.id,
    provider: carrier.provider,
    callbackOrigin: carrier.callbackOrigin,
    callbackToken: carrier.callbackToken ?? null,
  }).status_callback_url;
  if (!url) return "";
  return `${url}${url.includes("?") ? "&" : "?"}message_id=${encodeURIComponent(messageId)}`;
}
