/** A tenant with a Twilio carrier and a webhook endpoint, and the HTTP boundary around them. */
import { expect, vi } from "vitest";
import { createCarrier, TWILIO_TOKEN, twilioSign } from "../callbacks/helpers";
import { BASE } from "../helpers/api";
import { newTenant, type TestTenant } from "../helpers/tenant";

export const RECEIVER_HOST = "receiver.example.com";

export interface ReceivedWebhook {
  webhookId: string;
  type: string;
  data: Record<string, unknown>;
}

/** The tenant's webhook receiver at the HTTP boundary: answers 200 and records each request. */
export function fakeReceiver(): ReceivedWebhook[] {
  const received: ReceivedWebhook[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (new URL(req.url).host !== RECEIVER_HOST) return new Response("not here", { status: 599 });
    const payload = JSON.parse(await req.text()) as { type: string; data: Record<string, unknown> };
    received.push({ webhookId: req.headers.get("webhook-id") ?? "", type: payload.type, data: payload.data });
    return new Response("ok");
  });
  return received;
}

export interface WebhookTenant {
  t: TestTenant;
  carrierId: string;
  endpointId: string;
}

export async function webhookSetup(): Promise<WebhookTenant> {
  const t = await newTenant({ brand_name: "Northwind" });
  const carrier = await createCarrier(t, {
    provider: "twilio",
    credentials: { account_sid: "AC0123456789abcdef0123456789abcdef", auth_token: TWILIO_TOKEN },
    from: ["+15555550199"],
  });
  const endpoint = await t.api.post<{ id: string }>("/v1/webhook-endpoints", {
    url: `https://${RECEIVER_HOST}/herald`,
    events: ["message.delivered", "message.failed"],
  });
  expect(endpoint.status, endpoint.text).toBe(201);
  return { t, carrierId: carrier.id, endpointId: endpoint.body.id };
}

/** Twilio's `delivered` status callback for our message, signed over the URL Twilio was given. */
export async function twilioDelivered(w: WebhookTenant, messageId: string): Promise<Request> {
  const params = {
    MessageSid: `SM${messageId.slice(-16).padStart(32, "0")}`,
    MessageStatus: "delivered",
    AccountSid: "AC0123456789abcdef0123456789abcdef",
    To: "+15555550100",
    From: "+15555550199",
  };
  const path = `/callbacks/twilio/${w.carrierId}/status?message_id=${messageId}`;
  return new Request(BASE + path, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSign(TWILIO_TOKEN, BASE + path, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}
