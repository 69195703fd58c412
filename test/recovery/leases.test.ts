/**
 * Defect 5 (issue 9): acknowledged work is never lost. A storefront delivery answered 200 and an
 * outbound webhook delivery are D1 rows with a lease; the scheduler tick re-enqueues those whose
 * lease ran out (PRODUCT.md, "hook and webhook recovery", as rule 9 for messages).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import { faultyEnv, tickWith } from "../helpers/faults";
import { insertOutboxMessage } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { shopifyIntegration } from "../hooks/helpers";
import {
  cleanPlatform,
  countRows,
  createProgram,
  MIN,
  NOON_NY,
  Platform,
  sendUntilAccepted,
  shopifyRequest,
  tenantMessages,
} from "./helpers";
import { fakeReceiver, twilioDelivered, webhookSetup } from "./webhook-helpers";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function shopWithOrder(): Promise<{ t: TestTenant; integrationId: string }> {
  const t = await newTenant({ brand_name: "Northwind" });
  await createProgram(t, { name: "Delays", kind: "delivery_delay" });
  const i = await shopifyIntegration(t);
  const setup = cleanPlatform(NOON_NY);
  await sendUntilAccepted(setup, () =>
    shopifyRequest(i.id, "orders/create", orderCreate, { eventId: "o-1" }),
  );
  return { t, integrationId: i.id };
}

/** The tenant's hook delivery statuses, sorted (deliveries received in the same fake millisecond have no order). */
const deliveryStatuses = async (tenantId: string) =>
  (
    await env.DB.prepare("SELECT status FROM hook_deliveries WHERE tenant_id = ?")
      .bind(tenantId)
      .all<{ status: string }>()
  ).results
    .map((r) => r.status)
    .sort();

describe("storefront deliveries", () => {
  it("the queue send fails after the row is stored: the delivery is still processed, once", async () => {
    const { t, integrationId } = await shopWithOrder();
    const p = new Platform(faultyEnv(env, { target: "WORK_QUEUE", nth: 1, capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () =>
      shopifyRequest(integrationId, "fulfillment_events/create", fulfillmentDelayed, { eventId: "fe-1" }),
    );
    expect(sent.status).toBe(200);
    await p.settle();
    expect(await deliveryStatuses(t.id)).toEqual(["processed", "processed"]);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });

  it("the answer of the insert is lost (the retry is a duplicate): the tick recovers the delivery", async () => {
    const { t, integrationId } = await shopWithOrder();
    // D1 call 2 (after the integration's look-up) stores the delivery: it commits, then the call
    // throws. The storefront sees a 500; its retry is a duplicate while the first claim's lease lives.
    const p = new Platform(faultyEnv(env, { target: "DB", nth: 2, mode: "after", capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () =>
      shopifyRequest(integrationId, "fulfillment_events/create", fulfillmentDelayed, { eventId: "fe-2" }),
    );
    expect(p.f.fired).toMatchObject({ target: "DB" });
    expect(sent.statuses).toEqual([500, 200]);
    expect(await deliveryStatuses(t.id)).toEqual(["processed", "processing"]);
    await p.settle();
    expect(await deliveryStatuses(t.id)).toEqual(["processed", "processed"]);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });

  it("kill -9 after the 200: a claimed delivery with no queue message is re-enqueued by the tick", async () => {
    const { t, integrationId } = await shopWithOrder();
    const body = JSON.stringify({ ...fulfillmentDelayed, id: 99 });
    await env.DB.prepare(
      `INSERT INTO hook_deliveries (id, tenant_id, integration_id, dedupe_key, topic, raw_body, status, received_at, lease_until)
       VALUES ('hkd_killed', ?, ?, 'fe-killed', 'fulfillment_events/create', ?, 'processing', ?, ?)`,
    )
      .bind(t.id, integrationId, body, new Date(NOON_NY).toISOString(), new Date(NOON_NY + MIN).toISOString())
      .run();
    const p = new Platform(faultyEnv(env, { capture: true }), NOON_NY);
    // A tick before the lease ran out (+2 minutes of grace) leaves it alone.
    p.advance(2 * MIN);
    await tickWith(p.f.env, p.now);
    expect(p.f.captured.filter((m) => m.queue === "herald-work")).toEqual([]);
    await p.settle(2);
    expect(await deliveryStatuses(t.id)).toEqual(["processed", "processed"]);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });
});

describe("outbound webhook deliveries", () => {
  it("sendBatch fails after the row is written: the tick re-enqueues it and it is delivered once", async () => {
    const received = fakeReceiver();
    const w = await webhookSetup();
    const msg = await insertOutboxMessage(w.t.id, { carrierId: w.carrierId, status: "sent" });
    const p = new Platform(faultyEnv(env, { target: "WORK_QUEUE", nth: 1, capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () => twilioDelivered(w, msg.id));
    expect(sent.status).toBe(204);
    await p.settle();
    const rows = await env.DB.prepare(
      "SELECT status, attempts FROM webhook_deliveries WHERE tenant_id = ? AND event_type = 'message.delivered'",
    )
      .bind(w.t.id)
      .all<{ status: string; attempts: number }>();
    expect(rows.results).toEqual([{ status: "delivered", attempts: 1 }]);
    expect(received.map((r) => r.webhookId)).toHaveLength(1);
    expect(await countRows("webhook_deliveries", w.t.id, "status = 'pending'")).toBe(0);
  });

  it("a pending delivery whose retry is still ahead is left alone by the tick", async () => {
    fakeReceiver();
    const w = await webhookSetup();
    await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)
       VALUES ('whd_later', ?, ?, 'message.sent', '{}', 'pending', 3, ?, ?, ?)`,
    )
      .bind(
        w.t.id,
        w.endpointId,
        new Date(NOON_NY + 30 * MIN).toISOString(),
        new Date(NOON_NY).toISOString(),
        new Date(NOON_NY).toISOString(),
      )
      .run();
    const f = faultyEnv(env, { capture: true });
    const swept = () =>
      f
        .takeCaptured("herald-work")
        .filter((m) => (m.body as { deliveryId?: string }).deliveryId === "whd_later");
    await tickWith(f.env, NOON_NY + 10 * MIN);
    expect(swept()).toEqual([]);
    await tickWith(f.env, NOON_NY + 33 * MIN);
    expect(swept().map((m) => m.body)).toEqual([{ kind: "webhook", deliveryId: "whd_later" }]);
  });
});
