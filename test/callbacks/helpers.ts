import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import type { TestTenant } from "../helpers/tenant";

const enc = new TextEncoder();

export const b64 = (bytes: ArrayBuffer | Uint8Array): string => {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
};

/** Twilio's documented algorithm, written out independently of Herald's code. */
export async function twilioSign(
  token: string,
  url: string,
  params: Record<string, string>,
): Promise<string> {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join("");
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(token),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  return b64(await crypto.subtle.sign("HMAC", key, enc.encode(data)));
}

export const TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed";

export async function createCarrier(t: TestTenant, body: Record<string, unknown>) {
  const res = await t.api.post<{ id: string; status_callback_url: string; inbound_url: string }>(
    "/v1/carriers",
    body,
  );
  expect(res.status, res.text).toBe(201);
  return res.body;
}

export const twilioCarrier = (t: TestTenant) =>
  createCarrier(t, {
    provider: "twilio",
    credentials: { account_sid: "AC0123456789abcdef0123456789abcdef", auth_token: TWILIO_TOKEN },
    from: ["+15555550199"],
  });

/** How many outbound webhook deliveries of `type` the tenant has queued. */
export async function webhookCount(tenantId: string, type: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE tenant_id = ? AND event_type = ?",
  )
    .bind(tenantId, type)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The `data` of the tenant's webhook deliveries of `type`, oldest first. */
export async function webhookData(tenantId: string, type: string): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare(
    "SELECT payload FROM webhook_deliveries WHERE tenant_id = ? AND event_type = ? ORDER BY created_at, id",
  )
    .bind(tenantId, type)
    .all<{ payload: string }>();
  return results.map((r) => (JSON.parse(r.payload) as { data: Record<string, unknown> }).data);
}

/**
 * Asserts the one `type` webhook of a message carries the Message object exactly as
 * `GET /v1/messages/{id}` shows it, without `events` (PRODUCT.md, Outbound webhooks), body,
 * encoding, segments and attempts included.
 */
export async function expectWebhookIsMessage(t: TestTenant, type: string, messageId: string): Promise<void> {
  const [data, ...more] = await webhookData(t.id, type);
  expect(more).toHaveLength(0);
  const shown = await t.api.get<Record<string, unknown>>(`/v1/messages/${messageId}`);
  expect(shown.status, shown.text).toBe(200);
  const { events: _events, ...message } = shown.body;
  expect(data).toEqual(message);
  expect(Object.keys(data ?? {})).toEqual(Object.keys(message));
  expect(data).toMatchObject({ status: type.slice("message.".length) });
  for (const key of ["body", "encoding", "segments", "attempts"]) expect(data).toHaveProperty(key);
}

/** Subscribes the tenant to every message/contact webhook so emitted events are observable. */
export async function subscribeWebhooks(t: TestTenant): Promise<void> {
  const res = await t.api.post("/v1/webhook-endpoints", {
    url: "https://127.0.0.1:9/herald",
    events: [
      "message.sent",
      "message.delivered",
      "message.undelivered",
      "message.failed",
      "contact.unsubscribed",
    ],
  });
  expect(res.status, res.text).toBe(201);
}

/**
 * The outbound webhook deliveries queued by these tests are really delivered in the background;
 * answer them like a healthy receiver instead of letting them hit the network.
 */
export function fakeWebhookReceivers(): void {
  beforeEach(() => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
  });
  afterEach(() => vi.restoreAllMocks());
}
