import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isPhoneSuppressed } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import fixture from "../fixtures/sinch/sms-rest-api.json";
import { call } from "../helpers/api";
import { getOutboxMessage, insertOutboxMessage, outboxEvents } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { waitFor } from "../hooks/helpers";
import { b64 } from "./helpers";

const SECRET = "sinch-callback-secret-0123456789";
const PHONE = "+12125550142";
const OURS = "+12125550100";
const MSISDN = PHONE.slice(1);

interface SinchBatch {
  url: string;
  json: Record<string, unknown>;
}

/**
 * Sinch at the HTTP boundary: the Batches endpoint answers 201 with a batch id and records the
 * batch; Herald's outbound webhooks (none subscribed here) answer 200.
 */
function fakeSinch() {
  const batches: SinchBatch[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (/\/xms\/v1\/[^/]+\/batches$/.test(new URL(req.url).pathname)) {
      const json = (await req.json()) as Record<string, unknown>;
      batches.push({ url: req.url, json });
      return Response.json(
        {
          ...fixture.batches.response_201_example,
          id: `BATCH${batches.length}`,
          to: json.to,
          from: json.from,
        },
        { status: 201 },
      );
    }
    return new Response("ok");
  });
  return batches;
}

afterEach(() => vi.restoreAllMocks());

async function sinchCarrier(t: TestTenant, secret?: string) {
  const res = await t.api.post<{ id: string; status_callback_url: string; inbound_url: string }>(
    "/v1/carriers",
    {
      provider: "sinch",
      credentials: {
        service_plan_id: "0123456789abcdef0123456789abcdef",
        api_token: "tok_0123456789abcdef",
        ...(secret ? { callback_secret: secret } : {}),
      },
      from: [OURS],
      base_url: "https://sinch-double.example.com",
      mps: 30,
    },
  );
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** Sinch's signature headers for a body, computed the way Sinch's SDKs document it. */
async function signed(secret: string, body: string, opts: { nonce?: string; ts?: number } = {}) {
  const nonce = opts.nonce ?? crypto.randomUUID();
  const timestamp = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${body}.${nonce}.${timestamp}`),
  );
  return {
    "x-sinch-webhook-signature": b64(mac),
    "x-sinch-webhook-signature-nonce": nonce,
    "x-sinch-webhook-signature-timestamp": timestamp,
    "x-sinch-webhook-signature-algorithm": "HmacSHA256",
  };
}

/** Posts a callback to a URL Herald handed out (path and query, as Sinch calls it). */
function post(url: string, body: string, headers: Record<string, string> = {}) {
  const u = new URL(url);
  return call("POST", u.pathname + u.search, {
    rawBody: body,
    headers: { "content-type": "application/json", ...headers },
  });
}

const report = (over: Record<string, unknown>) =>
  JSON.stringify({
    ...fixture.recipient_delivery_report.example,
    recipient: MSISDN,
    at: new Date().toISOString(),
    ...over,
  });

describe("POST /callbacks/sinch/{carrier_id}: URL token (no callback secret)", () => {
  it("hands out one URL with a secret token, for delivery reports and inbound texts alike", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t);
    expect(carrier.status_callback_url).toBe(carrier.inbound_url);
    const u = new URL(carrier.status_callback_url);
    expect(u.pathname).toBe(`/callbacks/sinch/${carrier.id}`);
    expect(u.searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const again = await t.api.get<{ status_callback_url: string }>(`/v1/carriers/${carrier.id}`);
    expect(again.body.status_callback_url).toBe(carrier.status_callback_url);
    const list = await t.api.get<{ data: { status_callback_url: string }[] }>("/v1/carriers");
    expect(list.body.data[0]?.status_callback_url).toBe(carrier.status_callback_url);
    const other = await sinchCarrier(t);
    expect(new URL(other.status_callback_url).searchParams.get("token")).not.toBe(
      u.searchParams.get("token"),
    );
  });

  it("checks the credentials ({service_plan_id, api_token, callback_secret?}) and never returns them", async () => {
    const t = await newTenant();
    const post = (credentials: Record<string, string>) =>
      t.api.post("/v1/carriers", { provider: "sinch", credentials, from: [OURS] });
    expect((await post({ service_plan_id: "0123456789abcdef" })).status).toBe(422);
    expect((await post({ service_plan_id: "0123", api_token: "tok_0123456789", region: "eu" })).status).toBe(
      422,
    );
    const ok = await post({ service_plan_id: "0123", api_token: "tok_0123456789" });
    expect(ok.status).toBe(201);
    expect(ok.text).not.toContain("tok_0123456789");
    expect(ok.body).toMatchObject({ provider: "sinch", base_url: null });
  });

  it("moves a message sent → delivered; duplicates and late reports change nothing", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: PHONE,
      carrierMessageId: "BATCH9:12125550142",
    });
    const dispatched = report({ batch_id: "BATCH9", status: "Dispatched", code: 401 });
    const delivered = report({ batch_id: "BATCH9", status: "Delivered", code: 0 });
    for (const body of [dispatched, delivered, delivered, dispatched]) {
      expect((await post(carrier.status_callback_url, body)).status).toBe(204);
    }
    const row = await getOutboxMessage(msg.id);
    expect(row.status).toBe("delivered");
    expect(row.deliveredAt).not.toBeNull();
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["delivered"]);
  });

  it("a failed report keeps Sinch's code and description", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: PHONE,
      carrierMessageId: "BATCH7:12125550142",
    });
    const res = await post(
      carrier.status_callback_url,
      report({ batch_id: "BATCH7", status: "Failed", code: 402 }),
    );
    expect(res.status).toBe(204);
    expect(await getOutboxMessage(msg.id)).toMatchObject({
      status: "undelivered",
      errorCode: "402",
      errorMessage: "Sinch Failed: Message unroutable",
    });
    expect(await isPhoneSuppressed(serviceContext(env, t.id), PHONE)).toBe(false);
  });

  it("finds a message whose create response was lost by its client_reference, for that recipient only", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending", to: PHONE });
    const wrongPhone = report({
      batch_id: "B5",
      recipient: "15550000000",
      status: "Delivered",
      client_reference: msg.id,
    });
    expect((await post(carrier.status_callback_url, wrongPhone)).status).toBe(204);
    expect((await getOutboxMessage(msg.id)).status).toBe("sending");
    const right = report({ batch_id: "B5", status: "Delivered", client_reference: msg.id });
    expect((await post(carrier.status_callback_url, right)).status).toBe(204);
    expect(await getOutboxMessage(msg.id)).toMatchObject({
      status: "delivered",
      carrierMessageId: "B5:12125550142",
    });
  });

  it("refuses a wrong, missing or other carrier's token with 403 before reading the body; 404 for an unknown carrier", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t);
    const other = await sinchCarrier(t);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: PHONE,
      carrierMessageId: "BATCH3:12125550142",
    });
    const body = report({ batch_id: "BATCH3", status: "Delivered" });
    const base = `https://herald.test/callbacks/sinch/${carrier.id}`;
    const otherToken = new URL(other.status_callback_url).searchParams.get("token");
    for (const [name, url] of [
      ["missing", base],
      ["wrong", `${base}?token=${"A".repeat(32)}`],
      ["other carrier's", `${base}?token=${otherToken}`],
    ] as const) {
      expect((await post(url, body)).status, name).toBe(403);
    }
    expect((await post(base, "{not json", {})).status).toBe(403);
    expect((await getOutboxMessage(msg.id)).status).toBe("sent");
    expect((await post("https://herald.test/callbacks/sinch/car_nope?token=x", body)).status).toBe(404);
  });
});

describe("POST /callbacks/sinch/{carrier_id}: HMAC signature (callback secret)", () => {
  it("applies a report signed over body.nonce.timestamp; refuses bad, stale, missing signatures and a bare token", async () => {
    const t = await newTenant();
    const carrier = await sinchCarrier(t, SECRET);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: PHONE,
      carrierMessageId: "BATCH4:12125550142",
    });
    const body = report({ batch_id: "BATCH4", status: "Delivered" });
    const good = await signed(SECRET, body);
    for (const [name, headers] of [
      ["bad secret", await signed("not-the-secret", body)],
      ["tampered body", await signed(SECRET, `${body} `)],
      ["stale", await signed(SECRET, body, { ts: Math.floor(Date.now() / 1000) - 2 * 86_400 })],
      ["missing", {}],
      ["no nonce", { ...good, "x-sinch-webhook-signature-nonce": "" }],
    ] as const) {
      expect((await post(carrier.status_callback_url, body, headers)).status, name).toBe(403);
    }
    expect((await getOutboxMessage(msg.id)).status).toBe("sent");
    expect((await post(carrier.status_callback_url, body, good)).status).toBe(204);
    expect((await getOutboxMessage(msg.id)).status).toBe("delivered");
  });
});

describe("Sinch inbound (mo_text)", () => {
  it("STOP unsubscribes the phone and the stop_text reply goes out once as a Sinch batch", async () => {
    const batches = fakeSinch();
    const t = await newTenant();
    await t.api.patch("/v1/tenant", {
      stop_text: "Northwind: you're unsubscribed. Reply START to resubscribe.",
    });
    const carrier = await sinchCarrier(t, SECRET);
    const contact = (await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE })).body;
    const body = JSON.stringify({
      ...fixture.mo_text.example,
      from: MSISDN,
      to: OURS.slice(1),
      id: "MO-1",
      body: "Stop",
      received_at: new Date().toISOString(),
    });
    expect((await post(carrier.inbound_url, body, await signed(SECRET, body))).status).toBe(204);
    // Sinch retries the same inbound: nothing happens twice.
    expect((await post(carrier.inbound_url, body, await signed(SECRET, body))).status).toBe(204);
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${contact.id}`)).body.subscribed).toBe(
      false,
    );
    expect(await isPhoneSuppressed(serviceContext(env, t.id), PHONE)).toBe(true);
    await waitFor(async () => batches.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(batches).toHaveLength(1);
    const batch = batches[0] as SinchBatch;
    expect(batch.json.to).toEqual([MSISDN]);
    expect(batch.json.from).toBe(OURS.slice(1));
    expect(batch.json.parameters).toEqual({
      body: { [MSISDN]: "Northwind: you're unsubscribed. Reply START to resubscribe." },
    });
  });

  it("an unsigned STOP changes nothing (403)", async () => {
    fakeSinch();
    const t = await newTenant();
    const carrier = await sinchCarrier(t, SECRET);
    const body = JSON.stringify({ ...fixture.mo_text.example, from: MSISDN, id: "MO-2" });
    expect((await post(carrier.inbound_url, body)).status).toBe(403);
    expect(await isPhoneSuppressed(serviceContext(env, t.id), PHONE)).toBe(false);
  });
});
