import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { attemptWebhookDelivery } from "../../src/services/webhooks/deliver";
import { newTenant, type TestTenant } from "../helpers/tenant";

/** Where a hostile receiver redirects to: the cloud metadata endpoint. */
const INTERNAL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
const prodEnv = { ...env, ENVIRONMENT: "production" };

/**
 * The HTTP boundary, behaving like fetch: `redirectHost` answers 302 to `INTERNAL`, which the stub
 * follows (as fetch does by default) unless the caller said `redirect: "manual"`. Every request
 * that reaches the network is recorded.
 */
function network(redirectHost: string) {
  const seen: string[] = [];
  const follow = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new Request(input, init).url;
    seen.push(url);
    if (new URL(url).host !== redirectHost) return new Response("ok", { status: 200 });
    const res = new Response(null, { status: 302, headers: { location: INTERNAL } });
    return init?.redirect === "manual" ? res : follow(INTERNAL, { method: "GET" });
  };
  vi.spyOn(globalThis, "fetch").mockImplementation(follow);
  return seen;
}

/** An endpoint made through the API, and one pending delivery row for it (no queue message). */
async function pendingDelivery(
  t: TestTenant,
  url: string,
): Promise<{ endpointId: string; deliveryId: string }> {
  const res = await t.api.post<{ id: string }>("/v1/webhook-endpoints", { url, events: ["message.sent"] });
  if (res.status !== 201) throw new Error(res.text);
  const deliveryId = `whd_guard_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts, created_at, updated_at)
     VALUES (?, ?, ?, 'message.sent', '{}', 'pending', 0, ?, ?)`,
  )
    .bind(deliveryId, t.id, res.body.id, now, now)
    .run();
  return { endpointId: res.body.id, deliveryId };
}

const delivery = (id: string) =>
  env.DB.prepare("SELECT status, attempts, last_status_code, last_error FROM webhook_deliveries WHERE id = ?")
    .bind(id)
    .first<{
      status: string;
      attempts: number;
      last_status_code: number | null;
      last_error: string | null;
    }>();

afterEach(() => {
  vi.restoreAllMocks();
});

describe("outbound webhooks under the URL guard (production)", () => {
  it("a 302 is not followed: the attempt is a failed delivery, retried later", async () => {
    const seen = network("redirecting.example.com");
    const t = await newTenant();
    const { deliveryId } = await pendingDelivery(t, "https://redirecting.example.com/h");
    const outcome = await attemptWebhookDelivery(prodEnv, deliveryId);
    expect(seen).toEqual(["https://redirecting.example.com/h"]);
    expect(outcome.outcome).toBe("retry");
    expect(await delivery(deliveryId)).toMatchObject({
      status: "pending",
      attempts: 1,
      last_status_code: 302,
    });
    expect((await delivery(deliveryId))?.last_error).toBe("HTTP 302 (redirects are not followed)");
  });

  it.each([
    "https://[::7f00:1]/h", // IPv4-compatible 127.0.0.1
    "https://[2002:a9fe:a9fe::]/h", // 6to4 of 169.254.169.254
    "https://[fd00::1]/h", // unique local
    "http://127.0.0.1:9/h", // loopback http: fine in development, not in production
  ])("an endpoint URL stored before the rule (%s) is refused at call time", async (stored) => {
    const seen = network("none.example.com");
    const t = await newTenant();
    const { endpointId, deliveryId } = await pendingDelivery(t, "https://hooks.example.com/h");
    // Straight into D1, past the API's write-time check: a row from before the rule (the old
    // guard let these IPv6 literals through) or from a development deploy.
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind(stored, endpointId).run();
    const outcome = await attemptWebhookDelivery(prodEnv, deliveryId);
    expect(seen).toEqual([]);
    expect(outcome.outcome).toBe("retry");
    const d = await delivery(deliveryId);
    expect(d).toMatchObject({ status: "pending", attempts: 1, last_status_code: null });
    expect(d?.last_error).toMatch(/^url must/);
  });
});
