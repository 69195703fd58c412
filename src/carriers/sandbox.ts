import type { CarrierAdapter, CarrierConfig, SendRequest, SendResult } from "./types";

/**
 * The built-in carrier: records the message and reports it delivered; nothing leaves the
 * machine. It is the default when a tenant has no carrier.
 */
export const sandboxAdapter: CarrierAdapter = {
  provider: "sandbox",
  async send(_config: CarrierConfig, req: SendRequest): Promise<SendResult> {
    return { outcome: "accepted", carrierMessageId: `sbx_${req.messageId}`, status: "delivered" };
  },
};
