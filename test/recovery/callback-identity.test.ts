/**
 * Defect 7 (issue 9): what identifies a callback or a storefront delivery is what its signature
 * covers. An unsigned `message_id` query parameter never overrides the signed carrier message id;
 * a captured Shopify body sent again under new (unsigned) headers has no second effect; a Vonage
 * carrier must have the secret that verifies its callbacks.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isPhoneSuppressed } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import { createCarrier, fakeWebhookReceivers } from "../callbacks/helpers";
import fulfillmentDelayed from "../fixtures/shopify/fulfillment-events-create-delayed.json";
import orderCreate from "../fixtures/shopify/orders-create.json";
import { call } from "../helpers/api";
import { getOutboxMessage, insertOutboxMessage } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { postShopify, settledDeliveries, shopifyIntegration } from "../hooks/helpers";
import { createProgram, tenantMessages } from "./helpers";

fakeWebhookReceivers();
afterEach(() => vi.useRealTimers());

const enc = new TextEncoder();
const b64 = (bytes: ArrayBuffer | Uint8Array): string => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function telnyxSetup(t: TestTenant) {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const publicKey = b64((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const carrier = await createCarrier(t, {
    provider: "telnyx",
    credentials: { api_key: "KEY0123456789ABCDEF", public_key: publicKey },
    from: ["+15555550199"],
  });
  /** Posts a body Telnyx signed (timestamp|body), with whatever query an attacker adds. */
  const post = async (body: string, query = "") => {
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = b64(await crypto.subtle.sign("Ed25519", pair.privateKey, enc.encode(`${ts}|${body}`)));
    return call("POST", `/callbacks/telnyx/${carrier.id}${query}`, {
      rawBody: body,
      headers: {
        "content-type": "application/json",
        "telnyx-timestamp": ts,
        "telnyx-signature-ed25519": sig,
      },
    });
  };
  return { carrier, post };
}

const telnyxFinalized = (payload: Record<string, unknown>) =>
  JSON.stringify({
    data: { event_type: "message.finalized", id: crypto.randomUUID(), payload },
    meta: { attempt: 1 },
  });

describe("Telnyx: the signed carrier message id wins over the query", () => {
  it("a captured delivered callback replayed against another message moves only its own message", async () => {
    const t = await newTenant();
    const { carrier, post } = await telnyxSetup(t);
    const x = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      carrierMessageId: "tx-x",
      to: "+15555550100",
    });
    const y = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      carrierMessageId: "tx-y",
      to: "+15555550111",
    });
    const captured = telnyxFinalized({
      id: "tx-x",
      to: [{ phone_number: "+15555550100", status: "delivered" }],
    });
    expect((await post(captured, `?message_id=${y.id}`)).status).toBe(204);
    expect((await getOutboxMessage(y.id)).status).toBe("sent");
    expect((await getOutboxMessage(x.id)).status).toBe("delivered");
  });

  it("a captured opt-out error replayed against a message without a carrier id cannot opt out its phone", async () => {
    const t = await newTenant();
    const { carrier, post } = await telnyxSetup(t);
    await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      carrierMessageId: "tx-stop",
      to: "+15555550100",
    });
    // The victim's create response was lost: it has no carrier message id yet.
    const victim = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sending",
      to: "+15555550122",
    });
    const captured = telnyxFinalized({
      id: "tx-stop",
      to: [{ phone_number: "+15555550100", status: "sending_failed" }],
      errors: [{ code: "40300", title: "Blocked due to STOP message" }],
    });
    expect((await post(captured, `?message_id=${victim.id}`)).status).toBe(204);
    expect((await getOutboxMessage(victim.id)).status).toBe("sending");
    expect(await isPhoneSuppressed(serviceContext(env, t.id), "+15555550122")).toBe(false);
    expect(await isPhoneSuppressed(serviceContext(env, t.id), "+15555550100")).toBe(true);
  });

  it("still matches a message whose create response was lost: by the signed webhook_url, or a consistent hint", async () => {
    const t = await newTenant();
    const { carrier, post } = await telnyxSetup(t);
    const a = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sending",
      to: "+15555550133",
    });
    const signedUrl = `https://herald.test/callbacks/telnyx/${carrier.id}?message_id=${a.id}`;
    const byUrl = telnyxFinalized({
      id: "tx-a",
      webhook_url: signedUrl,
      to: [{ phone_number: "+15555550133", status: "delivered" }],
    });
    expect((await post(byUrl)).status).toBe(204);
    expect(await getOutboxMessage(a.id)).toMatchObject({ status: "delivered", carrierMessageId: "tx-a" });

    const b = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sending",
      to: "+15555550144",
    });
    const byHint = telnyxFinalized({
      id: "tx-b",
      to: [{ phone_number: "+15555550144", status: "delivered" }],
    });
    expect((await post(byHint, `?message_id=${b.id}`)).status).toBe(204);
    expect(await getOutboxMessage(b.id)).toMatchObject({ status: "delivered", carrierMessageId: "tx-b" });
  });
});

describe("Vonage", () => {
  it("the signed client-ref wins over the query's message_id", async () => {
    const t = await newTenant();
    const secret = "sig-secret-0123456789abcdef";
    const carrier = await createCarrier(t, {
      provider: "vonage",
      credentials: { api_key: "abcd1234", api_secret: "Secret123456", signature_secret: secret },
      from: ["+15555550199"],
    });
    const x = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent" });
    const y = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent", to: "+15555550111" });
    const params: Record<string, string> = {
      msisdn: "15555550100",
      to: "15555550199",
      messageId: "0A0000000123ABCD1",
      status: "delivered",
      "err-code": "0",
      "client-ref": x.id,
      timestamp: String(Math.floor(Date.now() / 1000)),
    };
    const base = Object.keys(params)
      .sort()
      .map((k) => `&${k}=${(params[k] ?? "").replace(/[&=]/g, "_")}`)
      .join("");
    const key = await crypto.subtle.importKey(
      "raw",
      enc.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const sig = [...new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(base)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const res = await call("POST", `/callbacks/vonage/${carrier.id}/status?message_id=${y.id}`, {
      rawBody: new URLSearchParams({ ...params, sig }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(204);
    expect((await getOutboxMessage(y.id)).status).toBe("sent");
    expect((await getOutboxMessage(x.id)).status).toBe("delivered");
  });

  it("a carrier without signature_secret is refused (422 naming it): its STOPs could never be verified", async () => {
    const t = await newTenant();
    const res = await t.api.post<{ errors: { path: string }[] }>("/v1/carriers", {
      provider: "vonage",
      credentials: { api_key: "abcd1234", api_secret: "Secret123456" },
      from: ["+15555550199"],
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.path)).toContain("credentials.signature_secret");
  });
});

describe("Shopify: dedupe on what the HMAC covers", () => {
  it("a captured body sent again under a new X-Shopify-Event-Id has no second effect", async () => {
    const t = await newTenant({ brand_name: "Northwind" });
    await createProgram(t, { name: "Delays", kind: "delivery_delay" });
    const i = await shopifyIntegration(t);
    await postShopify(i.id, "orders/create", orderCreate);
    await settledDeliveries(i.id, 1);
    const first = await postShopify(i.id, "fulfillment_events/create", fulfillmentDelayed, {
      eventId: "e-1",
    });
    expect(first.body.duplicate).toBe(false);
    await settledDeliveries(i.id, 2);
    const replay = await postShopify(i.id, "fulfillment_events/create", fulfillmentDelayed, {
      eventId: "e-forged",
    });
    expect(replay.status).toBe(200);
    expect(replay.body.duplicate).toBe(true);
    await settledDeliveries(i.id, 2);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });

  it("the unsigned topic header cannot make a new delivery of an order body either", async () => {
    const t = await newTenant();
    const i = await shopifyIntegration(t);
    expect((await postShopify(i.id, "orders/create", orderCreate)).body.duplicate).toBe(false);
    expect((await postShopify(i.id, "orders/updated", orderCreate)).body.duplicate).toBe(true);
    // A real update changes the body (updated_at): a new delivery.
    const updated = { ...orderCreate, updated_at: "2026-11-22T15:00:00-05:00" };
    expect((await postShopify(i.id, "orders/updated", updated)).body.duplicate).toBe(false);
    await settledDeliveries(i.id, 2);
  });
});
