/**
 * Defect 4 (issue 9): a retry after a partial failure must not create a new occurrence. An event's
 * identity is the caller's `id`, else the Idempotency-Key, else the storefront delivery id; a run's
 * is the Idempotency-Key (PRODUCT.md, Events and `/run`).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import { faultyEnv, fetchWith } from "../helpers/faults";
import { newTenant } from "../helpers/tenant";
import { postStandard, settledDeliveries, shopifyIntegration, standardIntegration } from "../hooks/helpers";
import {
  apiRequest,
  cleanPlatform,
  countRows,
  createContact,
  createProgram,
  NOON_NY,
  Platform,
  sendUntilAccepted,
  shopifyRequest,
  tenantMessages,
} from "./helpers";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => vi.useRealTimers());

const delayEvent = (contactId: string) => ({
  name: "order.delayed",
  contact: { id: contactId },
  data: { order_name: "#1042", estimated_delivery_at: "2026-12-03T17:00:00-05:00" },
});

async function delayTenant() {
  const t = await newTenant({ brand_name: "Northwind" });
  await createProgram(t, { name: "Delays", kind: "delivery_delay" });
  const contactId = await createContact(t, { phone: "+12125550142", first_name: "Ada" });
  return { t, contactId };
}

describe("POST /v1/events: the same event twice is one occurrence", () => {
  it("the caller's id: a retry after the doorbell failed sends no second message", async () => {
    const { t, contactId } = await delayTenant();
    // The message row is written, then the dispatch enqueue fails: the client sees a 500 and retries.
    const p = new Platform(faultyEnv(env, { target: "DISPATCH_QUEUE", nth: 1, capture: true }), NOON_NY);
    const body = { ...delayEvent(contactId), id: "shop-1042-delay-1" };
    const sent = await sendUntilAccepted(p, () => apiRequest(t.key, "POST", "/v1/events", body));
    expect(sent.statuses).toEqual([500, 202]);
    const again = await fetchWith(env, apiRequest(t.key, "POST", "/v1/events", body));
    expect(again.status).toBe(202);
    const first = (await again.json()) as { id: string; programs: { message_id: string }[] };
    expect(first.id).toMatch(/^evt_/);
    expect(await tenantMessages(t.id)).toHaveLength(1);
    expect(await countRows("events", t.id)).toBe(1);
    expect(first.programs[0]?.message_id).toMatch(/^msg_/);
  });

  it("the Idempotency-Key: a retry after a 5xx (the key is released) sends no second message", async () => {
    const { t, contactId } = await delayTenant();
    const p = new Platform(faultyEnv(env, { target: "DISPATCH_QUEUE", nth: 1, capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () =>
      apiRequest(t.key, "POST", "/v1/events", delayEvent(contactId), { "idempotency-key": "delay-1042" }),
    );
    expect(sent.statuses).toEqual([500, 202]);
    expect(await tenantMessages(t.id)).toHaveLength(1);
    expect(await countRows("events", t.id)).toBe(1);
  });

  it("without id or key every call is a new event (two messages)", async () => {
    const { t, contactId } = await delayTenant();
    for (let i = 0; i < 2; i++) {
      const res = await fetchWith(
        faultyEnv(env, { capture: true }).env,
        apiRequest(t.key, "POST", "/v1/events", delayEvent(contactId)),
      );
      expect(res.status).toBe(202);
    }
    expect(await tenantMessages(t.id)).toHaveLength(2);
  });

  it("an id already used for another event is a 409", async () => {
    const { t, contactId } = await delayTenant();
    const other = await createContact(t, { phone: "+12125550143" });
    const env1 = faultyEnv(env, { capture: true }).env;
    const body = { ...delayEvent(contactId), id: "evt-reused" };
    expect((await fetchWith(env1, apiRequest(t.key, "POST", "/v1/events", body))).status).toBe(202);
    const clash = await fetchWith(
      env1,
      apiRequest(t.key, "POST", "/v1/events", { ...body, contact: { id: other } }),
    );
    expect(clash.status).toBe(409);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });
});

describe("storefront hooks: a reprocessed delivery is the same event", () => {
  it("the inline attempt dies after writing the message; the queue job finishes it without a second SMS", async () => {
    const t = await newTenant({ brand_name: "Northwind" });
    await createProgram(t, { name: "Delays", kind: "delivery_delay" });
    const i = await shopifyIntegration(t);
    const setup = cleanPlatform(NOON_NY);
    await sendUntilAccepted(setup, () =>
      shopifyRequest(i.id, "orders/create", orderCreate, { eventId: "order-1" }),
    );
    await setup.drainWork();

    // Inline processing writes the message, then the dispatch doorbell fails: the claim is released.
    const p = new Platform(faultyEnv(env, { target: "DISPATCH_QUEUE", nth: 1, capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () =>
      shopifyRequest(i.id, "fulfillment_events/create", fulfillmentDelayed, { eventId: "fe-1" }),
    );
    expect(sent.status).toBe(200);
    p.advance(70_000);
    await p.settle();
    expect(p.f.fired).not.toBeNull();
    const messages = await tenantMessages(t.id);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.body).toContain("#1042");
    expect(await countRows("events", t.id, "name = 'order.delayed'")).toBe(1);
    expect(await countRows("hook_deliveries", t.id, "status = 'processed'")).toBe(2);
  });
});

describe("standard hooks: the body's own id is the event's identity", () => {
  it("two deliveries (new webhook-ids) of one event id, and the same id through the API: one message", async () => {
    const { t, contactId } = await delayTenant();
    const i = await standardIntegration(t);
    const body = { ...delayEvent(contactId), id: "store-evt-77" };
    expect((await postStandard(i.id, i.secret, body, { id: "msg_a" })).body.duplicate).toBe(false);
    expect((await postStandard(i.id, i.secret, body, { id: "msg_b" })).body.duplicate).toBe(false);
    await settledDeliveries(i.id, 2);
    expect((await fetchWith(env, apiRequest(t.key, "POST", "/v1/events", body))).status).toBe(202);
    expect(await tenantMessages(t.id)).toHaveLength(1);
    expect(await countRows("events", t.id)).toBe(1);
  });
});

describe("POST /v1/programs/{id}/run with an Idempotency-Key", () => {
  it("a retry after a 5xx continues the same run: one message per contact", async () => {
    const t = await newTenant({ brand_name: "Northwind" });
    const programId = await createProgram(t, {
      name: "Holiday hours",
      kind: "custom",
      template: "Hi {{ contact.first_name }}, we open late on Dec 24.",
    });
    for (const [i, name] of ["Ada", "Grace", "Edsger"].entries())
      await createContact(t, { phone: `+1212555016${i}`, first_name: name });
    const p = new Platform(faultyEnv(env, { target: "DISPATCH_QUEUE", nth: 1, capture: true }), NOON_NY);
    const sent = await sendUntilAccepted(p, () =>
      apiRequest(t.key, "POST", `/v1/programs/${programId}/run`, undefined, {
        "idempotency-key": "holiday-run-1",
      }),
    );
    expect(sent.statuses).toEqual([500, 202]);
    const messages = await tenantMessages(t.id);
    expect(messages).toHaveLength(3);
    expect(new Set(messages.map((m) => m.contact_id)).size).toBe(3);
    expect(await countRows("program_runs", t.id)).toBe(1);
  });
});
