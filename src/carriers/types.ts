import type { OutboundPolicy } from "../domain/url-guard";

/** The carrier adapter contract: every provider implements it; the registry is `Record<Provider, CarrierAdapter>`. */

export const PROVIDERS = ["twilio", "telnyx", "vonage", "sinch", "sandbox"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Decrypted credentials, by provider. */
export interface CarrierCredentials {
  twilio: { account_sid: string; auth_token: string };
  telnyx: { api_key: string; public_key: string };
  vonage: { api_key: string; api_secret: string; signature_secret: string };
  sinch: { service_plan_id: string; api_token: string; callback_secret?: string };
  sandbox: Record<string, never>;
}

export interface SendRequest {
  messageId: string;
  to: string;
  /** A number of the pool (sticky per contact), absent when a messaging service picks the sender. */
  from?: string;
  messagingServiceSid?: string;
  body: string;
  /** Seconds of validity left (Twilio ValidityPeriod = min(36000, this)). */
  validitySeconds?: number;
  /** Absolute URL the carrier posts status updates to; contains our message id. */
  statusCallbackUrl: string;
}

export interface CarrierConfig {
  id: string | null;
  provider: Provider;
  baseUrl: string | null;
  credentials: Record<string, string>;
  /** The sender pool (E.164); the dispatcher picks one per contact with `stickySender`. */
  fromNumbers?: string[];
  messagingServiceSid?: string | null;
  /** Segments per second for this pool; null = unlimited. */
  mps?: number | null;
  priority?: number;
  tenantId?: string;
  /** Origin of this carrier's callback URLs (see `statusCallbackUrlFor`). */
  callbackOrigin?: string;
  /**
   * The URL guard's rules for this carrier's calls, from ENVIRONMENT when the row is loaded;
   * absent = production (fail closed). Checked again before every call (`carrierFetch`).
   */
  outbound?: OutboundPolicy;
  /**
   * The secret token in this carrier's callback URLs (`?token=`), for providers whose callbacks
   * are verified by it (Sinch without a callback secret); derived when the row is loaded.
   */
  callbackToken?: string;
}

/** What a carrier call came to. */
export type SendResult =
  | { outcome: "accepted"; carrierMessageId: string; status: "sent" | "delivered" }
  /** 429, 5xx, timeouts, network errors: try again later (maybe elsewhere). */
  | {
      outcome: "retryable";
      errorCode: string;
      errorMessage: string;
      retryAfterSeconds?: number;
      maybeAccepted?: boolean;
    }
  /** Invalid number, opted out at the carrier, landline…: never retried. */
  | { outcome: "permanent"; errorCode: string; errorMessage: string; optedOut?: boolean };

/** A status update from a carrier callback, in Herald's words. */
export interface CarrierStatusUpdate {
  /** Our message id, from what the carrier signed (Twilio's URL, Vonage's client-ref, Telnyx's webhook_url). */
  messageId?: string;
  /** The carrier's message id (signed, in the body). */
  carrierMessageId?: string;
  /**
   * Our message id from an unsigned place (Telnyx's and Vonage's query string): only a hint, used
   * when nothing signed matches and it agrees with what is signed (see `applyStatusUpdate`).
   */
  messageIdHint?: string;
  /** The recipient the signed body names, when it names one. */
  recipient?: string;
  status: "sent" | "delivered" | "undelivered" | "failed" | "sending";
  errorCode?: string;
  errorMessage?: string;
  optedOut?: boolean;
}

export interface InboundSms {
  from: string;
  to: string;
  body: string;
  carrierMessageId?: string;
  /** Set when the carrier already handled an opt-out keyword itself (Twilio Advanced Opt-Out). */
  carrierHandledOptOut?: boolean;
}

export interface CarrierAdapter {
  provider: Provider;
  send(config: CarrierConfig, req: SendRequest): Promise<SendResult>;
  /**
   * Many messages in as few requests as the carrier allows (Sinch batches): one result per
   * request, in the same order. The dispatcher hands it at most `SEND_MANY_MAX` requests at once.
   */
  sendMany?(config: CarrierConfig, reqs: SendRequest[]): Promise<SendResult[]>;
}
