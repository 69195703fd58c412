import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { emitWebhookEvent } from "../../src/services/webhooks/emit";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { waitFor } from "../hooks/helpers";

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Delivery {
  id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** A webhook receiver at the HTTP boundary: answers with `status(n)` for the n-th request to it. */
function fakeReceiver(host: string, status: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (new URL(req.url).host !== host) return real(input, init);
    received.push({ url: req.url, headers: Object.fromEntries(req.headers), body: await req.text() });
    return new Response("ok", { status: status(received.length) });
  });
  return received;
}

async function endpoint(t: TestTenant, url: string, events: string[]) {
  const res = await t.api.post<{ id: string; secret: string }>("/v1/webhook-endpoints", { url, events });
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

const deliveries = async (t: TestTenant, endpointId: string) =>
  (await t.api.get<{ data: Delivery[] }>(`/v1/webhook-endpoints/${endpointId}/deliveries`)).body.data;

/** Makes a pending delivery due now (its backoff delay has "passed") and rings the queue. */
async function dueNow(deliveryId: string) {
  await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?")
    .bind(new Date(Date.now() - 1000).toISOString(), deliveryId)
    .run();
  await env.WORK_QUEUE.send({ kind: "webhook", deliveryId });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("outbound webhook deliveries", () => {
  it("POSTs {type, timestamp, data} signed per Standard Webhooks to each subscribed endpoint only", async () => {
    const received = fakeReceiver("receiver.example.com");
    const t = await newTenant();
    const a = await endpoint(t, "https://receiver.example.com/a", ["message.delivered"]);
    const b = await endpoint(t, "https://receiver.example.com/b", ["message.delivered", "message.failed"]);
    const c = await endpoint(t, "https://receiver.example.com/c", ["message.failed"]);
    await emitWebhookEvent(env, t.id, "message.delivered", { id: "msg_1", status: "delivered" });

    await waitFor(async () => received.length >= 2 && received);
    await waitFor(async () => (await deliveries(t, b.id))[0]?.status === "delivered");
    expect(received.map((r) => new URL(r.url).pathname).sort()).toEqual(["/a", "/b"]);
    for (const r of received) {
      const secret = new URL(r.url).pathname === "/a" ? a.secret : b.secret;
      const payload = new Webhook(secret).verify(r.body, r.headers) as Delivery["payload"];
      expect(payload.type).toBe("message.delivered");
      expect(payload.data).toEqual({ id: "msg_1", status: "delivered" });
      expect(Date.parse(payload.timestamp)).toBeGreaterThan(Date.now() - 60_000);
      expect(r.headers["content-type"]).toBe("application/json");
      // The other endpoint's secret does not verify it.
      expect(() =>
        new Webhook(secret === a.secret ? b.secret : a.secret).verify(r.body, r.headers),
      ).toThrow();
    }
    const log = await deliveries(t, a.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    expect(await deliveries(t, c.id)).toEqual([]);
  });

  it("retries a failing endpoint with backoff, keeping the same webhook-id, and logs every attempt", async () => {
    const received = fakeReceiver("flaky.example.com", (n) => (n === 1 ? 503 : 200));
    const t = await newTenant();
    const e = await endpoint(t, "https://flaky.example.com/h", ["message.failed"]);
    await emitWebhookEvent(env, t.id, "message.failed", { id: "msg_2" });
    const [first] = await waitFor(async () => {
      const d = await deliveries(t, e.id);
      return d[0]?.attempts === 1 && d;
    });
    expect(first).toMatchObject({ status: "pending", last_status_code: 503, last_error: "HTTP 503" });
    const delay = Date.parse(first?.next_attempt_at ?? "") - Date.now();
    expect(delay).toBeGreaterThan(1000);
    expect(delay).toBeLessThan(10_000);

    await dueNow(first?.id ?? "");
    await waitFor(async () => (await deliveries(t, e.id))[0]?.status === "delivered");
    const [done] = await deliveries(t, e.id);
    expect(done).toMatchObject({ attempts: 2, last_status_code: 200, last_error: null });
    expect(received).toHaveLength(2);
    expect(received[0]?.headers["webhook-id"]).toBe(received[1]?.headers["webhook-id"]);
    expect(received[0]?.headers["webhook-id"]).toBe(done?.id);
    const ep = await t.api.get<{ consecutive_failures: number; status: string }>(
      `/v1/webhook-endpoints/${e.id}`,
    );
    expect(ep.body).toMatchObject({ consecutive_failures: 0, status: "enabled" });
  });

  it("gives up after 24 hours, marks the delivery failed and disables the endpoint, saying why", async () => {
    fakeReceiver("down.example.com", () => 500);
    const t = await newTenant();
    const e = await endpoint(t, "https://down.example.com/h", ["message.sent"]);
    await emitWebhookEvent(env, t.id, "message.sent", { id: "msg_3" });
    const [first] = await waitFor(async () => {
      const d = await deliveries(t, e.id);
      return d[0]?.attempts === 1 && d;
    });
    // The event is now 24 h old: the next failure is the last.
    await env.DB.prepare("UPDATE webhook_deliveries SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 24 * 3_600_000).toISOString(), first?.id)
      .run();
    await dueNow(first?.id ?? "");
    await waitFor(async () => (await deliveries(t, e.id))[0]?.status === "failed");
    const ep = await t.api.get<{ status: string; disabled_reason: string }>(`/v1/webhook-endpoints/${e.id}`);
    expect(ep.body.status).toBe("disabled");
    expect(ep.body.disabled_reason).toContain("24 hours");

    // A disabled endpoint receives nothing new until re-enabled.
    await emitWebhookEvent(env, t.id, "message.sent", { id: "msg_4" });
    expect(await deliveries(t, e.id)).toHaveLength(1);
    await t.api.patch(`/v1/webhook-endpoints/${e.id}`, { status: "enabled" });
    await emitWebhookEvent(env, t.id, "message.sent", { id: "msg_5" });
    expect(await deliveries(t, e.id)).toHaveLength(2);
    await waitFor(async () => (await deliveries(t, e.id))[0]?.attempts === 1);
  });

  it("disables an endpoint after 20 failed attempts in a row", async () => {
    fakeReceiver("dead.example.com", () => 404);
    const t = await newTenant();
    const e = await endpoint(t, "https://dead.example.com/h", ["message.sent"]);
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 19 WHERE id = ?")
      .bind(e.id)
      .run();
    await emitWebhookEvent(env, t.id, "message.sent", { id: "msg_6" });
    await waitFor(async () => (await deliveries(t, e.id))[0]?.status === "failed");
    const ep = await t.api.get<{ status: string; disabled_reason: string; consecutive_failures: number }>(
      `/v1/webhook-endpoints/${e.id}`,
    );
    expect(ep.body).toMatchObject({ status: "disabled", consecutive_failures: 20 });
    expect(ep.body.disabled_reason).toContain("20 consecutive");
  });

  it("re-checks the SSRF guard before each delivery (production refuses loopback http)", async () => {
    const received = fakeReceiver("127.0.0.1:9");
    const t = await newTenant();
    const e = await endpoint(t, "http://127.0.0.1:9/h", ["message.sent"]);
    const prod = { ...env, ENVIRONMENT: "production" };
    const { attemptWebhookDelivery } = await import("../../src/services/webhooks/deliver");
    const row = await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts, created_at, updated_at)
       VALUES ('whd_ssrf', ?, ?, 'message.sent', '{}', 'pending', 0, ?, ?) RETURNING id`,
    )
      .bind(t.id, e.id, new Date().toISOString(), new Date().toISOString())
      .first<{ id: string }>();
    const outcome = await attemptWebhookDelivery(prod, row?.id ?? "");
    expect(outcome.outcome).toBe("retry");
    expect(received).toHaveLength(0);
    const [d] = await deliveries(t, e.id);
    expect(d?.last_error).toContain("https");
  });

  it("a delivery to a deleted endpoint fails without a request", async () => {
    const received = fakeReceiver("gone.example.com");
    const t = await newTenant();
    const e = await endpoint(t, "https://gone.example.com/h", ["message.sent"]);
    await env.DB.prepare("UPDATE webhook_endpoints SET status = 'enabled', deleted_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), e.id)
      .run();
    await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts, created_at, updated_at)
       VALUES ('whd_gone', ?, ?, 'message.sent', '{}', 'pending', 0, ?, ?)`,
    )
      .bind(t.id, e.id, new Date().toISOString(), new Date().toISOString())
      .run();
    await env.WORK_QUEUE.send({ kind: "webhook", deliveryId: "whd_gone" });
    await waitFor(async () => {
      const r = await env.DB.prepare("SELECT status FROM webhook_deliveries WHERE id = 'whd_gone'").first<{
        status: string;
      }>();
      return r?.status === "failed";
    });
    expect(received).toHaveLength(0);
  });
});
