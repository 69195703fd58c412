import { describe, expect, it } from "vitest";
import {
  parseVonageInbound,
  parseVonageStatus,
  VONAGE_TOLERANCE_SECONDS,
  verifyVonageJwt,
  verifyVonageSmsSignature,
} from "../../src/carriers/vonage/webhooks";
import { call } from "../helpers/api";
import { getOutboxMessage, insertOutboxMessage, outboxEvents } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { createCarrier, fakeWebhookReceivers } from "./helpers";

fakeWebhookReceivers();

const enc = new TextEncoder();
const SECRET = "sig-secret-0123456789abcdef";
const API_KEY = "abcd1234";

const b64url = (bytes: ArrayBuffer | Uint8Array | string): string => {
  const u8 = typeof bytes === "string" ? enc.encode(bytes) : new Uint8Array(bytes);
  let s = "";
  for (const b of u8) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
};
const hex = (buf: ArrayBuffer) =>
  [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(alg: string, secret: string, data: string): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: alg }, false, [
    "sign",
  ]);
  return crypto.subtle.sign("HMAC", key, enc.encode(data));
}

/** A Vonage signed-webhook JWT, built the way Vonage documents it (HS256, payload_hash of the body). */
async function vonageJwt(
  secret: string,
  body: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      iat: now,
      jti: crypto.randomUUID(),
      iss: "Vonage",
      api_key: API_KEY,
      payload_hash: hex(await crypto.subtle.digest("SHA-256", enc.encode(body))),
      ...claims,
    }),
  );
  return `${header}.${payload}.${b64url(await hmac("SHA-256", secret, `${header}.${payload}`))}`;
}

/** SMS API `sig` (HMAC-SHA256 flavour) over `&k=v` pairs sorted by key. */
async function smsSig(secret: string, params: Record<string, string>): Promise<string> {
  const base = Object.keys(params)
    .sort()
    .map((k) => `&${k}=${(params[k] ?? "").replace(/[&=]/g, "_")}`)
    .join("");
  return hex(await hmac("SHA-256", secret, base)).toUpperCase();
}

const dlr = (messageId: string, status: string, extra: Record<string, string> = {}) => ({
  msisdn: "15555550100",
  to: "15555550199",
  "network-code": "310260",
  messageId: "0A0000000123ABCD1",
  price: "0.00570000",
  status,
  scts: "2611222145",
  "err-code": "0",
  "api-key": API_KEY,
  "client-ref": messageId,
  "message-timestamp": "2026-11-22 21:45:00",
  ...extra,
});

async function setup(t: TestTenant) {
  return createCarrier(t, {
    provider: "vonage",
    credentials: { api_key: API_KEY, api_secret: "Secret123456", signature_secret: SECRET },
    from: ["+15555550199"],
  });
}

const postForm = (carrierId: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
  call("POST", `/callbacks/vonage/${carrierId}/status`, {
    rawBody: new URLSearchParams(params).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });

describe("Vonage signatures (pure)", () => {
  it("matches the SMS API md5hash reference vector", async () => {
    const params = { a: "1", b: "2", timestamp: "1461605396", sig: "6af838ef94998832dbfc29020b564830" };
    expect(await verifyVonageSmsSignature("secret", params, 1461605396_000)).toBe(true);
    expect(await verifyVonageSmsSignature("secret", { ...params, b: "3" }, 1461605396_000)).toBe(false);
    expect(await verifyVonageSmsSignature("secret", params, 1461605396_000 + 600_000)).toBe(false);
  });

  it("verifies the signed-webhook JWT, its payload_hash, expiry and api_key", async () => {
    const body = '{"status":"delivered"}';
    expect(await verifyVonageJwt(SECRET, await vonageJwt(SECRET, body), body, { apiKey: API_KEY })).toBe(
      true,
    );
    expect(await verifyVonageJwt(SECRET, await vonageJwt(SECRET, body), '{"status":"failed"}')).toBe(false);
    expect(await verifyVonageJwt(SECRET, await vonageJwt("other-secret", body), body)).toBe(false);
    const expired = await vonageJwt(SECRET, body, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await verifyVonageJwt(SECRET, expired, body)).toBe(false);
    expect(
      await verifyVonageJwt(SECRET, await vonageJwt(SECRET, body), body, { apiKey: "someone-else" }),
    ).toBe(false);
    const none = `${b64url('{"alg":"none"}')}.${b64url("{}")}.`;
    expect(await verifyVonageJwt(SECRET, none, body)).toBe(false);
  });

  it("refuses a JWT that leaves the body unhashed, or was issued longer ago than the tolerance", async () => {
    const body = '{"status":"delivered"}';
    const nowS = Math.floor(Date.now() / 1000);
    const unhashed = await vonageJwt(SECRET, body, { payload_hash: undefined });
    expect(await verifyVonageJwt(SECRET, unhashed, body)).toBe(false);
    expect(await verifyVonageJwt(SECRET, unhashed, "")).toBe(true);
    const old = await vonageJwt(SECRET, body, { iat: nowS - VONAGE_TOLERANCE_SECONDS - 5 });
    expect(await verifyVonageJwt(SECRET, old, body)).toBe(false);
    const noIat = await vonageJwt(SECRET, body, { iat: undefined });
    expect(await verifyVonageJwt(SECRET, noIat, body)).toBe(false);
    const recent = await vonageJwt(SECRET, body, { iat: nowS - VONAGE_TOLERANCE_SECONDS + 30 });
    expect(await verifyVonageJwt(SECRET, recent, body)).toBe(true);
  });

  it("maps DLR statuses and inbound fields", () => {
    expect(parseVonageStatus(dlr("msg_1", "delivered"))).toMatchObject({
      status: "delivered",
      messageId: "msg_1",
      carrierMessageId: "0A0000000123ABCD1",
    });
    expect(parseVonageStatus(dlr("msg_1", "accepted"))?.status).toBe("sent");
    expect(parseVonageStatus(dlr("msg_1", "expired", { "err-code": "2" }))).toMatchObject({
      status: "undelivered",
      errorCode: "2",
    });
    expect(parseVonageStatus(dlr("msg_1", "rejected", { "err-code": "6" }))?.status).toBe("failed");
    expect(parseVonageStatus(dlr("msg_1", "unknown"))).toBeNull();
    expect(
      parseVonageInbound({ msisdn: "15555550100", to: "15555550199", text: "STOP", messageId: "in1" }),
    ).toEqual({
      from: "+15555550100",
      to: "+15555550199",
      body: "STOP",
      carrierMessageId: "in1",
    });
  });
});

describe("POST /callbacks/vonage/{carrier_id}/status", () => {
  it("applies a JWT-signed delivery receipt (form) and matches by client-ref", async () => {
    const t = await newTenant();
    const carrier = await setup(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent" });
    const params = dlr(msg.id, "delivered");
    const body = new URLSearchParams(params).toString();
    const res = await postForm(carrier.id, params, {
      authorization: `Bearer ${await vonageJwt(SECRET, body)}`,
    });
    expect(res.status).toBe(204);
    expect(await getOutboxMessage(msg.id)).toMatchObject({
      status: "delivered",
      carrierMessageId: "0A0000000123ABCD1",
    });
  });

  it("applies an SMS-API-signed (sig) JSON receipt; late accepted stays delivered; duplicates write one event", async () => {
    const t = await newTenant();
    const carrier = await setup(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    const send = async (status: string) => {
      const params = {
        ...dlr(msg.id, status),
        timestamp: String(Math.floor(Date.now() / 1000)),
        nonce: crypto.randomUUID(),
      };
      const signed = { ...params, sig: await smsSig(SECRET, params) };
      return call("POST", `/callbacks/vonage/${carrier.id}/status`, {
        rawBody: JSON.stringify(signed),
        headers: { "content-type": "application/json" },
      });
    };
    expect((await send("delivered")).status).toBe(204);
    expect((await send("delivered")).status).toBe(204);
    expect((await send("accepted")).status).toBe(204);
    expect((await getOutboxMessage(msg.id)).status).toBe("delivered");
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["delivered"]);
  });

  it("refuses forged, tampered, unsigned receipts (403) and carriers without a signature secret (422)", async () => {
    const t = await newTenant();
    const carrier = await setup(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent" });
    const params = dlr(msg.id, "delivered");
    const body = new URLSearchParams(params).toString();
    const wrongSecret = await postForm(carrier.id, params, {
      authorization: `Bearer ${await vonageJwt("nope", body)}`,
    });
    expect(wrongSecret.status).toBe(403);
    const tampered = await postForm(
      carrier.id,
      { ...params, status: "failed" },
      {
        authorization: `Bearer ${await vonageJwt(SECRET, body)}`,
      },
    );
    expect(tampered.status).toBe(403);
    // A JWT with no payload_hash vouches for no body; one issued too long ago is a replay.
    const unhashed = await postForm(carrier.id, params, {
      authorization: `Bearer ${await vonageJwt(SECRET, body, { payload_hash: undefined })}`,
    });
    expect(unhashed.status).toBe(403);
    const replayed = await postForm(carrier.id, params, {
      authorization: `Bearer ${await vonageJwt(SECRET, body, { iat: Math.floor(Date.now() / 1000) - 3600 })}`,
    });
    expect(replayed.status).toBe(403);
    expect((await postForm(carrier.id, params)).status).toBe(403);
    const ts = String(Math.floor(Date.now() / 1000));
    const badSig = await postForm(carrier.id, { ...params, timestamp: ts, sig: "0".repeat(64) });
    expect(badSig.status).toBe(403);
    expect((await getOutboxMessage(msg.id)).status).toBe("sent");

    // A carrier without the secret could never verify a callback: it cannot be created (422).
    const unsigned = await t.api.post("/v1/carriers", {
      provider: "vonage",
      credentials: { api_key: API_KEY, api_secret: "Secret123456" },
      from: ["+15555550199"],
    });
    expect(unsigned.status).toBe(422);
    expect((await postForm("car_nope", params)).status).toBe(404);
  });
});
