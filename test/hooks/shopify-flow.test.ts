import { afterEach, describe, expect, it, vi } from "vitest";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import fulfillmentInTransit from "../fixtures/shopify/fulfillment-events-create-in-transit.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import { newTenant } from "../helpers/tenant";
import { fakeOutside, twilioCarrier } from "../inbound/helpers";
import { postShopify, settledDeliveries, shopifyIntegration, waitFor } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** Quiet hours placed away from the current New York hour, so the flow runs at any time of day. */
function quietHoursAwayFromNow() {
  const hour = Number(
    new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York",
      hour: "2-digit",
      hourCycle: "h23",
    }).format(new Date()),
  );
  const hh = (h: number) => `${String(h % 24).padStart(2, "0")}:00`;
  return { start: hh(hour + 3), end: hh(hour + 4) };
}

describe("Shopify: orders/create → fulfillment delayed → apology SMS", () => {
  it("sends one apology for the order, through the tenant's carrier, with the new date", async () => {
    const carrierRequests = fakeOutside();
    const t = await newTenant({ brand_name: "Northwind" });
    await t.api.patch("/v1/tenant", { quiet_hours: quietHoursAwayFromNow() });
    const carrier = await twilioCarrier(t, { base_url: "https://twilio-double.example.com" });
    const program = await t.api.post<{ id: string }>("/v1/programs", {
      name: "Delivery delays",
      kind: "delivery_delay",
    });
    expect(program.status).toBe(201);
    const i = await shopifyIntegration(t);

    expect((await postShopify(i.id, "orders/create", orderCreate)).status).toBe(200);
    await settledDeliveries(i.id, 1);
    // An in-transit event raises order.in_transit: no program listens to it, so nothing is sent.
    expect((await postShopify(i.id, "fulfillment_events/create", fulfillmentInTransit)).status).toBe(200);
    await settledDeliveries(i.id, 2);
    const delayed = await postShopify(i.id, "fulfillment_events/create", fulfillmentDelayed, {
      eventId: "evt-delay-1",
    });
    expect(delayed.status).toBe(200);
    // Shopify retries the same event: no second effect.
    expect(
      (await postShopify(i.id, "fulfillment_events/create", fulfillmentDelayed, { eventId: "evt-delay-1" }))
        .body.duplicate,
    ).toBe(true);
    const rows = await settledDeliveries(i.id, 3);
    expect(rows.map((r) => r.status)).toEqual(["processed", "processed", "processed"]);

    const sends = await waitFor(async () => {
      const s = carrierRequests.filter((r) => r.url.includes("/2010-04-01/Accounts/"));
      return s.length > 0 && s;
    }, 15_000);
    expect(sends).toHaveLength(1);
    const send = sends[0];
    expect(send?.url).toBe(
      "https://twilio-double.example.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json",
    );
    expect(send?.form?.get("To")).toBe("+12125550142");
    expect(send?.form?.get("From")).toBe("+12125550100");
    const body = send?.form?.get("Body") ?? "";
    expect(body).toContain("Ada");
    expect(body).toContain("#1042");
    expect(body).toContain("Thu Dec 3");
    expect(body).toContain("Northwind");

    const contacts = await t.api.get<{ data: { id: string }[] }>("/v1/contacts?phone=%2B12125550142");
    const contactId = contacts.body.data[0]?.id;
    const timeline = await t.api.get<{
      data: { type: string; name?: string; data?: Record<string, unknown> }[];
    }>(`/v1/contacts/${contactId}/timeline`);
    const events = timeline.body.data.filter((e) => e.type === "event");
    expect(events.map((e) => e.name).sort()).toEqual(["order.delayed", "order.in_transit"]);
    expect(events.find((e) => e.name === "order.delayed")?.data).toEqual({
      order_id: "5678901234567",
      order_name: "#1042",
      estimated_delivery_at: "2026-12-03T17:00:00-05:00",
      message: "Weather delay at the regional hub",
      happened_at: "2026-11-22T14:05:00-05:00",
      city: "Secaucus",
      province: "New Jersey",
      country: "United States",
    });
    expect(carrier.id).toMatch(/^car_/);
  });
});
