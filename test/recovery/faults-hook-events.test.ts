/**
 * Fault sweeps of the hook path (Shopify delivery-delay hook → event → delivery_delay message) and
 * the events path (`POST /v1/events` with an `id`, and with an Idempotency-Key): every binding call
 * of the path fails once (before / after it takes effect); the storefront or client retries, the
 * queue redelivers, the ticks recover leases; the final state equals the fault-free one.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { shopifyIntegration } from "../hooks/helpers";
import {
  apiRequest,
  cleanPlatform,
  countRows,
  createContact,
  createProgram,
  type Platform,
  sendUntilAccepted,
  shopifyRequest,
  tenantMessages,
} from "./helpers";
import { faultSweep } from "./sweep";

beforeEach(() => vi.useFakeTimers({ toFake: ["Date"] }));
afterEach(() => vi.useRealTimers());

const rowsOf = async (sql: string, tenantId: string) =>
  (await env.DB.prepare(sql).bind(tenantId).all()).results;

/** Messages, events and deliveries of the tenant, without its ids. */
async function finalState(tenantId: string) {
  return {
    messages: (await tenantMessages(tenantId)).map((m) => ({ status: m.status, body: m.body })),
    events: await rowsOf("SELECT name, data FROM events WHERE tenant_id = ? ORDER BY name", tenantId),
    deliveries: await rowsOf(
      "SELECT topic, status FROM hook_deliveries WHERE tenant_id = ? ORDER BY topic, status",
      tenantId,
    ),
    contacts: await countRows("contacts", tenantId),
  };
}

describe("fault sweep: Shopify delivery-delay hook", () => {
  it("every step failing once ends in the fault-free state", async () => {
    const report = await faultSweep<{ t: TestTenant; integrationId: string }>({
      async setup() {
        const t = await newTenant({ brand_name: "Northwind" });
        await createProgram(t, { name: "Delays", kind: "delivery_delay" });
        const i = await shopifyIntegration(t);
        const setup = cleanPlatform(Date.now());
        const res = await sendUntilAccepted(setup, () =>
          shopifyRequest(i.id, "orders/create", orderCreate, { eventId: "order-1" }),
        );
        expect(res.status).toBe(200);
        return { t, integrationId: i.id };
      },
      async run(p: Platform, s) {
        const sent = await sendUntilAccepted(p, () =>
          shopifyRequest(s.integrationId, "fulfillment_events/create", fulfillmentDelayed, {
            eventId: "delay-1",
          }),
        );
        expect(sent.status).toBe(200);
        // The durable queue job comes back after the claim's lease.
        p.advance(70_000);
        await p.drainWork();
      },
      snapshot: async (s) => finalState(s.t.id),
    });
    console.log(
      `hook path: ${report.steps} steps, ${report.injected} faults [${report.stepTargets.join(" ")}]`,
    );
    expect(report.steps).toBeGreaterThan(10);
    expect(report.matched).toBe(report.injected);
  });
});

describe("fault sweep: POST /v1/events", () => {
  const eventSetup = async () => {
    const t = await newTenant({ brand_name: "Northwind" });
    await createProgram(t, { name: "Delays", kind: "delivery_delay" });
    const contactId = await createContact(t, { phone: "+12125550142", first_name: "Ada" });
    return { t, contactId };
  };
  const body = (contactId: string) => ({
    name: "order.delayed",
    contact: { id: contactId },
    data: { order_name: "#1042", estimated_delivery_at: "2026-12-03T17:00:00-05:00" },
  });
  /** The answer's programs without ids: what the client learns. */
  const outcomes = (text: string) =>
    (JSON.parse(text) as { programs: { outcome: string; message_id: string | null }[] }).programs.map(
      (p) => ({ outcome: p.outcome, has_message: p.message_id !== null }),
    );

  for (const [label, identity] of [
    ["with the caller's id", { id: "shop-1042-delay" }],
    ["with an Idempotency-Key", { key: "delay-1042" }],
  ] as const) {
    it(`${label}: every step failing once ends in the fault-free state`, async () => {
      let answer = "";
      const report = await faultSweep<{ t: TestTenant; contactId: string; answer?: string }>({
        setup: eventSetup,
        async run(p, s) {
          const sent = await sendUntilAccepted(p, () =>
            apiRequest(
              s.t.key,
              "POST",
              "/v1/events",
              { ...body(s.contactId), ...("id" in identity ? { id: identity.id } : {}) },
              "key" in identity ? { "idempotency-key": identity.key } : {},
            ),
          );
          expect(sent.status).toBe(202);
          s.answer = sent.body;
          answer = sent.body;
          await p.drainWork();
        },
        snapshot: async (s) => ({ ...(await finalState(s.t.id)), answer: outcomes(s.answer ?? "{}") }),
      });
      console.log(
        `events path ${label}: ${report.steps} steps, ${report.injected} faults [${report.stepTargets.join(" ")}]`,
      );
      expect(outcomes(answer)).toEqual([{ outcome: "queued", has_message: true }]);
      expect(report.matched).toBe(report.injected);
    });
  }
});
