import type { Env } from "../../env";

export const WEBHOOK_EVENT_TYPES = [
  "message.sent",
  "message.delivered",
  "message.undelivered",
  "message.failed",
  "message.received",
  "contact.unsubscribed",
  "contact.subscribed",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Queues a signed delivery of `type` to every enabled endpoint of the tenant subscribed to it.
 * PLACEHOLDER until the outbound webhooks work lands (issue 5): does nothing yet.
 */
export async function emitWebhookEvent(
  _env: Env,
  _tenantId: string,
  _type: WebhookEventType,
  _data: Record<string, unknown>,
): Promise<void> {}
