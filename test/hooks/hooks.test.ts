import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signShopify, signStandard } from "../../src/domain/signatures";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import productUpdate from "../fixtures/shopify/products-update.json";
import { call } from "../helpers/api";
import { newTenant } from "../helpers/tenant";
import {
  hookDeliveries,
  postShopify,
  postStandard,
  SHOPIFY_SECRET,
  settledDeliveries,
  shopifyIntegration,
  standardIntegration,
} from "./helpers";

const eventBody = {
  name: "order.delayed",
  contact: { phone: "+12125550142" },
  data: { order_name: "#1042" },
};

describe("POST /hooks/{id} — Shopify signatures", () => {
  it("accepts a valid HMAC over the raw bytes", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const res = await postShopify(i.id, "products/update", productUpdate);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, duplicate: false });
  });

  it("401 for a tampered body, a wrong secret, a missing header; nothing stored", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const tampered = await postShopify(i.id, "orders/create", orderCreate, {
      tamper: (b) => b.replace("#1042", "#1043"),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get("content-type")).toContain("application/problem+json");
    expect((await postShopify(i.id, "orders/create", orderCreate, { secret: "shpss_wrong" })).status).toBe(
      401,
    );
    expect((await postShopify(i.id, "orders/create", orderCreate, { hmac: null })).status).toBe(401);
    expect((await postShopify(i.id, "orders/create", orderCreate, { hmac: "" })).status).toBe(401);
    expect(await hookDeliveries(i.id)).toEqual([]);
  });

  it("checks the signature on the raw bytes, so whitespace changes break it", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const body = JSON.stringify(productUpdate);
    const hmac = await signShopify(SHOPIFY_SECRET, body);
    const res = await call("POST", `/hooks/${i.id}`, {
      rawBody: JSON.stringify(productUpdate, null, 2),
      headers: {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": hmac,
        "x-shopify-topic": "products/update",
      },
    });
    expect(res.status).toBe(401);
  });

  it("a signed body that is not JSON is a 400 (after the signature, never before)", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const raw = "{not json";
    const unsigned = await call("POST", `/hooks/${i.id}`, {
      rawBody: raw,
      headers: { "content-type": "application/json" },
    });
    expect(unsigned.status).toBe(401);
    const signed = await call("POST", `/hooks/${i.id}`, {
      rawBody: raw,
      headers: {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": await signShopify(SHOPIFY_SECRET, raw),
      },
    });
    expect(signed.status).toBe(400);
  });

  it("404 for an unknown or deleted integration; 415 for a non-JSON content type", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    expect((await postShopify("int_doesnotexist", "orders/create", orderCreate)).status).toBe(404);
    const res = await call("POST", `/hooks/${i.id}`, {
      rawBody: "a=b",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(415);
    expect((await t.api.del(`/v1/integrations/${i.id}`)).status).toBe(204);
    expect((await postShopify(i.id, "orders/create", orderCreate)).status).toBe(404);
  });

  it("413 past 256 KB", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const res = await postShopify(i.id, "orders/create", { ...orderCreate, note: "x".repeat(300 * 1024) });
    expect(res.status).toBe(413);
  });
});

describe("POST /hooks/{id} — Standard Webhooks signatures", () => {
  it("accepts a valid signature and 401s tampered, wrong-secret, stale, future and header-less deliveries", async () => {
    const t = await newTenant();
    const i = await standardIntegration(t);
    const other = await standardIntegration(t);
    const now = Math.floor(Date.now() / 1000);
    expect((await postStandard(i.id, i.secret, eventBody)).status).toBe(200);

    const body = JSON.stringify(eventBody);
    const sig = await signStandard(i.secret, "msg_tamper", now, body);
    const tampered = await postStandard(i.id, i.secret, eventBody, {
      id: "msg_tamper",
      signature: sig,
      rawBody: body.replace("+12125550142", "+12125550143"),
    });
    expect(tampered.status).toBe(401);
    expect((await postStandard(i.id, other.secret, eventBody)).status).toBe(401);
    // Past the 5-minute tolerance either way (with room for the seconds this test itself takes).
    const ts = () => Math.floor(Date.now() / 1000);
    expect((await postStandard(i.id, i.secret, eventBody, { timestampSeconds: ts() - 310 })).status).toBe(
      401,
    );
    expect((await postStandard(i.id, i.secret, eventBody, { timestampSeconds: ts() + 310 })).status).toBe(
      401,
    );
    expect((await postStandard(i.id, i.secret, eventBody, { timestampSeconds: ts() - 240 })).status).toBe(
      200,
    );
    for (const h of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const res = await postStandard(i.id, i.secret, eventBody, { omit: [h] });
      expect(res.status, `without ${h}`).toBe(401);
    }
    // A Shopify-style signature does not open a standard integration.
    const shopifyStyle = await call("POST", `/hooks/${i.id}`, {
      rawBody: body,
      headers: {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": await signShopify(i.secret, body),
      },
    });
    expect(shopifyStyle.status).toBe(401);
  });
});

describe("duplicate deliveries", () => {
  it("a repeated Shopify event id answers 200 and has no second effect", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const first = await postShopify(i.id, "products/update", productUpdate, { eventId: "evt-dup-1" });
    const again = await postShopify(i.id, "products/update", productUpdate, { eventId: "evt-dup-1" });
    expect(first.body).toEqual({ received: true, duplicate: false });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    const rows = await settledDeliveries(i.id, 1);
    expect(rows[0]?.status).toBe("ignored");
  });

  it("a repeated Standard webhook-id answers 200 once stored, whatever the timestamp", async () => {
    const t = await newTenant();
    const i = await standardIntegration(t);
    const a = await postStandard(i.id, i.secret, { ...eventBody, name: "note.added" }, { id: "msg_same" });
    const b = await postStandard(
      i.id,
      i.secret,
      { ...eventBody, name: "note.added" },
      {
        id: "msg_same",
        timestampSeconds: Math.floor(Date.now() / 1000) - 60,
      },
    );
    expect(a.body.duplicate).toBe(false);
    expect(b.body.duplicate).toBe(true);
    await settledDeliveries(i.id, 1);
    const events = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE tenant_id = ? AND name = 'note.added'",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
  });

  it("Shopify deliveries without an event id fall back to the webhook id", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const body = JSON.stringify(productUpdate);
    const headers = {
      "content-type": "application/json",
      "x-shopify-topic": "products/update",
      "x-shopify-webhook-id": "wh-only-1",
      "x-shopify-hmac-sha256": await signShopify(SHOPIFY_SECRET, body),
    };
    expect(
      (await call<{ duplicate: boolean }>("POST", `/hooks/${i.id}`, { rawBody: body, headers })).body
        .duplicate,
    ).toBe(false);
    expect(
      (await call<{ duplicate: boolean }>("POST", `/hooks/${i.id}`, { rawBody: body, headers })).body
        .duplicate,
    ).toBe(true);
    expect((await hookDeliveries(i.id)).map((d) => d.dedupe_key)).toEqual(["wh-only-1"]);
  });
});

describe("Shopify topics", () => {
  it("orders/create upserts the contact from the first phone present, with SMS-marketing consent, and remembers the order", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    expect((await postShopify(i.id, "orders/create", orderCreate)).status).toBe(200);
    const [delivery] = await settledDeliveries(i.id, 1);
    expect(delivery?.status).toBe("processed");
    const contact = await env.DB.prepare(
      "SELECT id, phone, first_name, last_name, email, marketing_opt_in, subscribed FROM contacts WHERE tenant_id = ?",
    )
      .bind(t.id)
      .all<{
        id: string;
        phone: string;
        first_name: string;
        email: string;
        marketing_opt_in: number;
        subscribed: number;
      }>();
    // order.phone is null; the shipping address's phone comes before the billing address's.
    expect(contact.results).toHaveLength(1);
    expect(contact.results[0]).toMatchObject({
      phone: "+12125550142",
      first_name: "Ada",
      email: "ada.lovelace@example.com",
      marketing_opt_in: 1,
      subscribed: 1,
    });
    const order = await env.DB.prepare(
      "SELECT contact_id, order_name FROM shopify_orders WHERE tenant_id = ? AND order_id = ?",
    )
      .bind(t.id, "5678901234567")
      .first<{ contact_id: string; order_name: string }>();
    expect(order).toEqual({ contact_id: contact.results[0]?.id, order_name: "#1042" });
  });

  it("an order without SMS-marketing consent creates a contact without marketing_opt_in", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const order = {
      ...orderCreate,
      id: 111,
      buyer_accepts_sms_marketing: false,
      customer: { ...orderCreate.customer, sms_marketing_consent: { state: "not_subscribed" } },
      shipping_address: { ...orderCreate.shipping_address, phone: null },
    };
    await postShopify(i.id, "orders/create", order);
    await settledDeliveries(i.id, 1);
    const c = await env.DB.prepare("SELECT phone, marketing_opt_in FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ phone: string; marketing_opt_in: number }>();
    // No order or shipping phone, customer.phone null → the billing address's phone.
    expect(c).toEqual({ phone: "+12125550199", marketing_opt_in: 0 });
  });

  it("a fulfillment event for an order Herald never saw is acknowledged and recorded as unmatched", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const res = await postShopify(i.id, "fulfillment_events/create", {
      ...fulfillmentDelayed,
      order_id: 999,
    });
    expect(res.status).toBe(200);
    const [d] = await settledDeliveries(i.id, 1);
    expect(d?.status).toBe("unmatched");
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ n: number }>();
    expect(events?.n).toBe(0);
  });

  it("other topics are acknowledged and ignored", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    expect((await postShopify(i.id, "products/update", productUpdate)).status).toBe(200);
    const [d] = await settledDeliveries(i.id, 1);
    expect(d?.status).toBe("ignored");
  });

  it("answers well within a second", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    const started = performance.now();
    const res = await postShopify(i.id, "orders/create", orderCreate);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("standard hooks", () => {
  it("ingests a POST /v1/events body as an event for that contact", async () => {
    const t = await newTenant();
    const i = await standardIntegration(t);
    await postStandard(i.id, i.secret, {
      name: "order.delayed",
      contact: { phone: "+12125550142" },
      data: { order_name: "#7" },
    });
    const [d] = await settledDeliveries(i.id, 1);
    expect(d?.status).toBe("processed");
    const ev = await env.DB.prepare("SELECT name, data, source FROM events WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ name: string; data: string; source: string }>();
    expect(ev?.name).toBe("order.delayed");
    expect(JSON.parse(ev?.data ?? "{}")).toEqual({ order_name: "#7" });
  });

  it("a body that is not an events body is recorded as failed, with the reason", async () => {
    const t = await newTenant();
    const i = await standardIntegration(t);
    expect((await postStandard(i.id, i.secret, { event: "x" })).status).toBe(200);
    const [d] = await settledDeliveries(i.id, 1);
    expect(d?.status).toBe("failed");
    expect(d?.detail).toContain("POST /v1/events");
  });
});

describe("the work-queue job (durable path)", () => {
  it("finishes a delivery whose inline attempt died, once its claim expired; a finished one is left alone", async () => {
    const { createExecutionContext, createMessageBatch, getQueueResult } = await import("cloudflare:test");
    const worker = (await import("../../src/index")).default;
    const t = await newTenant();
    const i = await standardIntegration(t);
    const now = new Date().toISOString();
    const body = JSON.stringify({ name: "crash.recovered", contact: { phone: "+12125550177" } });
    await env.DB.prepare(
      `INSERT INTO hook_deliveries (id, tenant_id, integration_id, dedupe_key, topic, raw_body, status, received_at, lease_until)
       VALUES ('hkd_dead', ?, ?, 'msg_dead', NULL, ?, 'processing', ?, ?)`,
    )
      .bind(t.id, i.id, body, now, new Date(Date.now() - 1000).toISOString())
      .run();
    const run = async () => {
      const batch = createMessageBatch("herald-work", [
        {
          id: crypto.randomUUID(),
          timestamp: new Date(),
          attempts: 1,
          body: { kind: "hook", deliveryId: "hkd_dead" },
        },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch as never, env, ctx);
      return getQueueResult(batch, ctx);
    };
    const first = await run();
    expect(first.explicitAcks).toHaveLength(1);
    const [d] = await hookDeliveries(i.id);
    expect(d?.status).toBe("processed");
    await run();
    const events = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE tenant_id = ? AND name = 'crash.recovered'",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
  });
});
