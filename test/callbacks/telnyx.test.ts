import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  parseTelnyxInbound,
  parseTelnyxStatus,
  verifyTelnyxSignature,
} from "../../src/carriers/telnyx/webhooks";
import { isPhoneSuppressed } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import { call } from "../helpers/api";
import { getOutboxMessage, insertOutboxMessage, outboxEvents } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import {
  b64,
  createCarrier,
  expectWebhookIsMessage,
  fakeWebhookReceivers,
  subscribeWebhooks,
  webhookData,
} from "./helpers";

fakeWebhookReceivers();

const enc = new TextEncoder();

async function keyPair() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const raw = (await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer;
  return { privateKey: pair.privateKey, publicKeyB64: b64(raw) };
}

async function sign(privateKey: CryptoKey, timestamp: string, body: string): Promise<string> {
  return b64(await crypto.subtle.sign("Ed25519", privateKey, enc.encode(`${timestamp}|${body}`)));
}

const event = (type: string, payload: Record<string, unknown>) =>
  JSON.stringify({
    data: { event_type: type, id: crypto.randomUUID(), occurred_at: new Date().toISOString(), payload },
    meta: { attempt: 1 },
  });

const finalized = (status: string, errors: unknown[] = []) =>
  event("message.finalized", {
    id: "40385f64-5717-4562-b3fc-2c963f66afa6",
    to: [{ phone_number: "+15555550100", status }],
    from: { phone_number: "+15555550199" },
    errors,
  });

async function setup(t: TestTenant) {
  const keys = await keyPair();
  const carrier = await createCarrier(t, {
    provider: "telnyx",
    credentials: { api_key: "KEY0123456789ABCDEF", public_key: keys.publicKeyB64 },
    from: ["+15555550199"],
  });
  const post = async (
    body: string,
    opts: { messageId?: string; ts?: string; signWith?: CryptoKey | null; signBody?: string } = {},
  ) => {
    const ts = opts.ts ?? String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { "content-type": "application/json", "telnyx-timestamp": ts };
    if (opts.signWith !== null) {
      headers["telnyx-signature-ed25519"] = await sign(
        opts.signWith ?? keys.privateKey,
        ts,
        opts.signBody ?? body,
      );
    }
    const q = opts.messageId ? `?message_id=${opts.messageId}` : "";
    return call("POST", `/callbacks/telnyx/${carrier.id}${q}`, { rawBody: body, headers });
  };
  return { carrier, keys, post };
}

describe("Telnyx webhooks (pure)", () => {
  it("verifies Ed25519 over timestamp|body and refuses stale timestamps", async () => {
    const keys = await keyPair();
    const body = finalized("delivered");
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const sig = await sign(keys.privateKey, ts, body);
    expect(await verifyTelnyxSignature(keys.publicKeyB64, body, sig, ts, now)).toBe(true);
    expect(await verifyTelnyxSignature(keys.publicKeyB64, `${body} `, sig, ts, now)).toBe(false);
    expect(await verifyTelnyxSignature(keys.publicKeyB64, body, sig, String(Number(ts) + 1), now)).toBe(
      false,
    );
    expect(await verifyTelnyxSignature(keys.publicKeyB64, body, sig, ts, now + 301_000)).toBe(false);
    expect(await verifyTelnyxSignature(keys.publicKeyB64, body, "not-base64!", ts, now)).toBe(false);
    expect(await verifyTelnyxSignature(keys.publicKeyB64, body, null, ts, now)).toBe(false);
  });

  it("maps to[].status and reads inbound messages", () => {
    expect(parseTelnyxStatus(JSON.parse(finalized("delivered")))?.status).toBe("delivered");
    expect(parseTelnyxStatus(JSON.parse(finalized("delivery_failed")))?.status).toBe("undelivered");
    expect(parseTelnyxStatus(JSON.parse(finalized("sending_failed")))?.status).toBe("failed");
    expect(parseTelnyxStatus(JSON.parse(finalized("delivery_unconfirmed")))).toBeNull();
    expect(
      parseTelnyxStatus(JSON.parse(event("message.sent", { id: "x", to: [{ status: "sent" }] })))?.status,
    ).toBe("sent");
    const inbound = JSON.parse(
      event("message.received", {
        id: "in-1",
        from: { phone_number: "+15555550100" },
        to: [{ phone_number: "+15555550199" }],
        text: "STOP",
      }),
    );
    expect(parseTelnyxInbound(inbound)).toEqual({
      from: "+15555550100",
      to: "+15555550199",
      body: "STOP",
      carrierMessageId: "in-1",
    });
    expect(parseTelnyxStatus(inbound)).toBeNull();
  });
});

describe("POST /callbacks/telnyx/{carrier_id}", () => {
  it("applies message.sent then message.finalized delivered; duplicates and late events change nothing", async () => {
    const t = await newTenant();
    const { carrier, post } = await setup(t);
    await subscribeWebhooks(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    const sent = event("message.sent", {
      id: "40385f64-5717-4562-b3fc-2c963f66afa6",
      to: [{ status: "sent" }],
    });
    expect((await post(sent, { messageId: msg.id })).status).toBe(204);
    expect((await post(finalized("delivered"), { messageId: msg.id })).status).toBe(204);
    expect((await post(finalized("delivered"), { messageId: msg.id })).status).toBe(204);
    expect((await post(sent, { messageId: msg.id })).status).toBe(204);
    const row = await getOutboxMessage(msg.id);
    expect(row).toMatchObject({
      status: "delivered",
      carrierMessageId: "40385f64-5717-4562-b3fc-2c963f66afa6",
    });
    expect(row.deliveredAt).not.toBeNull();
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["sent", "delivered"]);
    // Each callback-produced webhook carries the full Message object, once: `message.delivered`
    // as GET /v1/messages/{id} shows it now, `message.sent` as the row stood when it was sent.
    await expectWebhookIsMessage(t, "message.delivered", msg.id);
    const sentHooks = await webhookData(t.id, "message.sent");
    expect(sentHooks).toHaveLength(1);
    expect(sentHooks[0]).toMatchObject({
      id: msg.id,
      status: "sent",
      body: msg.body,
      encoding: msg.encoding,
      segments: msg.segments,
      attempts: msg.attempts,
      delivered_at: null,
      carrier_message_id: "40385f64-5717-4562-b3fc-2c963f66afa6",
    });
  });

  it("stores 40300 as an opt-out: message failed, phone unsubscribed", async () => {
    const t = await newTenant();
    const { carrier, post } = await setup(t);
    // The recipient the signed body names: the query's message id is only followed for that phone.
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: "+15555550100",
    });
    const body = finalized("sending_failed", [
      { code: "40300", title: "Blocked due to STOP message", detail: "Recipient opted out" },
    ]);
    expect((await post(body, { messageId: msg.id })).status).toBe(204);
    expect(await getOutboxMessage(msg.id)).toMatchObject({
      status: "failed",
      errorCode: "40300",
      errorMessage: "Recipient opted out",
    });
    expect(await isPhoneSuppressed(serviceContext(env, t.id), "+15555550100")).toBe(true);
  });

  it("hands message.received to the inbound handler (204)", async () => {
    const t = await newTenant();
    const { post } = await setup(t);
    const body = event("message.received", {
      id: "in-2",
      from: { phone_number: "+15555550100" },
      to: [{ phone_number: "+15555550199" }],
      text: "hello",
    });
    expect((await post(body)).status).toBe(204);
  });

  it("refuses forged, tampered, stale or unsigned webhooks with 403", async () => {
    const t = await newTenant();
    const { carrier, post } = await setup(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    const other = await keyPair();
    const body = finalized("delivered");
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    for (const [name, res] of [
      ["other key", await post(body, { messageId: msg.id, signWith: other.privateKey })],
      ["tampered", await post(body, { messageId: msg.id, signBody: finalized("sent") })],
      ["stale", await post(body, { messageId: msg.id, ts: stale })],
      ["unsigned", await post(body, { messageId: msg.id, signWith: null })],
    ] as const) {
      expect(res.status, name).toBe(403);
    }
    expect((await getOutboxMessage(msg.id)).status).toBe("sending");
    expect(
      (
        await call("POST", "/callbacks/telnyx/car_nope", {
          rawBody: body,
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBe(404);
  });
});
