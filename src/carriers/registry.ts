import { sandboxAdapter } from "./sandbox";
import { sinchAdapter } from "./sinch/send";
import { telnyxAdapter } from "./telnyx/send";
import { twilioAdapter } from "./twilio/send";
import type { CarrierAdapter, CarrierConfig, Provider } from "./types";
import { vonageAdapter } from "./vonage/send";

/** Every provider's adapter; a provider without one is a type error. */
export const adapters: Record<Provider, CarrierAdapter> = {
  sandbox: sandboxAdapter,
  twilio: twilioAdapter,
  telnyx: telnyxAdapter,
  vonage: vonageAdapter,
  sinch: sinchAdapter,
};

/** The implicit carrier of a tenant without any: the sandbox, `carrier_id: null`. */
export const IMPLICIT_SANDBOX: CarrierConfig = {
  id: null,
  provider: "sandbox",
  baseUrl: null,
  credentials: {},
  fromNumbers: [],
  messagingServiceSid: null,
  mps: null,
  priority: 0,
};
