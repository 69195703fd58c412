import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  parseTwilioInbound,
  twilioSignature,
  verifyTwilioSignature,
} from "../../src/carriers/twilio/webhooks";
import { isPhoneSuppressed } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import { call } from "../helpers/api";
import { getOutboxMessage, insertOutboxMessage, outboxEvents } from "../helpers/outbox";
import { newTenant } from "../helpers/tenant";
import {
  expectWebhookIsMessage,
  fakeWebhookReceivers,
  subscribeWebhooks,
  TWILIO_TOKEN,
  twilioCarrier,
  twilioSign,
  webhookCount,
} from "./helpers";

fakeWebhookReceivers();

const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function postStatus(
  carrier: { id: string },
  messageId: string | null,
  params: Record<string, string>,
  sign: (url: string) => Promise<string | null> = (url) => twilioSign(TWILIO_TOKEN, url, params),
) {
  const path = `/callbacks/twilio/${carrier.id}/status${messageId ? `?message_id=${messageId}` : ""}`;
  const signature = await sign(`https://herald.test${path}`);
  return call("POST", path, {
    rawBody: new URLSearchParams(params).toString(),
    headers: { ...FORM, ...(signature ? { "x-twilio-signature": signature } : {}) },
  });
}

const status = (s: string, extra: Record<string, string> = {}) => ({
  MessageSid: "SM0123456789abcdef0123456789abcdef",
  MessageStatus: s,
  AccountSid: "AC0123456789abcdef0123456789abcdef",
  To: "+15555550100",
  From: "+15555550199",
  ...extra,
});

describe("Twilio signature (pure)", () => {
  it("matches Twilio's published example", async () => {
    const params: [string, string][] = [
      ["CallSid", "CA1234567890ABCDE"],
      ["Caller", "+14158675310"],
      ["Digits", "1234"],
      ["From", "+14158675310"],
      ["To", "+18005551212"],
    ];
    const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    expect(await twilioSignature("12345", url, params)).toBe("GvWf1cFY/Q7PnoempGyD5oXAezc=");
    const body = new URLSearchParams(params).toString();
    expect(await verifyTwilioSignature("12345", url, body, "GvWf1cFY/Q7PnoempGyD5oXAezc=")).toBe(true);
    expect(
      await verifyTwilioSignature("12345", url, body.replace("1234", "9999"), "GvWf1cFY/Q7PnoempGyD5oXAezc="),
    ).toBe(false);
    expect(await verifyTwilioSignature("12345", `${url}&x=1`, body, "GvWf1cFY/Q7PnoempGyD5oXAezc=")).toBe(
      false,
    );
    expect(await verifyTwilioSignature("12345", url, body, "")).toBe(false);
  });

  it("parses inbound SMS, noting Advanced Opt-Out", () => {
    const form = new URLSearchParams({
      From: "+15555550100",
      To: "+15555550199",
      Body: "STOP",
      MessageSid: "SM1",
      OptOutType: "STOP",
    });
    expect(parseTwilioInbound(form)).toEqual({
      from: "+15555550100",
      to: "+15555550199",
      body: "STOP",
      carrierMessageId: "SM1",
      carrierHandledOptOut: true,
    });
    expect(parseTwilioInbound(new URLSearchParams({ Body: "hi" }))).toBeNull();
  });
});

describe("POST /callbacks/twilio/{carrier_id}/status", () => {
  it("applies a valid delivered callback: status, delivered_at, carrier id, one event, one webhook", async () => {
    const t = await newTenant();
    await subscribeWebhooks(t);
    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    const res = await postStatus(carrier, msg.id, status("delivered"));
    expect(res.status).toBe(204);
    const row = await getOutboxMessage(msg.id);
    expect(row.status).toBe("delivered");
    expect(row.deliveredAt).not.toBeNull();
    expect(row.carrierMessageId).toBe("SM0123456789abcdef0123456789abcdef");
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["delivered"]);
    expect(await webhookCount(t.id, "message.delivered")).toBe(1);
    // The payload is the Message object of GET /v1/messages/{id} (body, encoding, segments,
    // attempts included), written in the same batch as the status change.
    await expectWebhookIsMessage(t, "message.delivered", msg.id);

    // The same callback again (Twilio retries) changes nothing and writes no second event.
    expect((await postStatus(carrier, msg.id, status("delivered"))).status).toBe(204);
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["delivered"]);
    expect(await webhookCount(t.id, "message.delivered")).toBe(1);
  });

  it("only moves forward: a late `sent` never overwrites `delivered`", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    expect((await postStatus(carrier, msg.id, status("delivered"))).status).toBe(204);
    expect((await postStatus(carrier, msg.id, status("sent"))).status).toBe(204);
    expect((await postStatus(carrier, msg.id, status("queued"))).status).toBe(204);
    expect((await postStatus(carrier, msg.id, status("undelivered", { ErrorCode: "30003" }))).status).toBe(
      204,
    );
    const row = await getOutboxMessage(msg.id);
    expect(row.status).toBe("delivered");
    expect(row.errorCode).toBeNull();
    expect((await outboxEvents(msg.id)).map((e) => e.status)).toEqual(["delivered"]);
  });

  it("walks sent then delivered, and stores the carrier's error on undelivered", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const a = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    await postStatus(carrier, a.id, status("sent"));
    expect((await getOutboxMessage(a.id)).sentAt).not.toBeNull();
    await postStatus(carrier, a.id, status("delivered"));
    expect((await outboxEvents(a.id)).map((e) => e.status)).toEqual(["sent", "delivered"]);

    const b = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent" });
    await postStatus(
      carrier,
      b.id,
      status("undelivered", { ErrorCode: "30003", ErrorMessage: "Unreachable destination handset" }),
    );
    const row = await getOutboxMessage(b.id);
    expect(row).toMatchObject({
      status: "undelivered",
      errorCode: "30003",
      errorMessage: "Unreachable destination handset",
    });
  });

  it("lifts failed/unknown_outcome to delivered, but not a failure with a known reason", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const unknown = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "failed",
      statusReason: "unknown_outcome",
    });
    const known = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "failed",
      statusReason: "21211",
    });
    await postStatus(carrier, unknown.id, status("delivered"));
    await postStatus(carrier, known.id, status("delivered"));
    expect(await getOutboxMessage(unknown.id)).toMatchObject({ status: "delivered", statusReason: null });
    expect((await getOutboxMessage(known.id)).status).toBe("failed");
  });

  it("matches by MessageSid when the URL carries no message id", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      carrierMessageId: "SMabcdefabcdefabcdefabcdefabcdefab",
    });
    await postStatus(
      carrier,
      null,
      status("delivered", { MessageSid: "SMabcdefabcdefabcdefabcdefabcdefab" }),
    );
    expect((await getOutboxMessage(msg.id)).status).toBe("delivered");
  });

  it("a carrier opt-out error (21610) fails the message and unsubscribes the phone", async () => {
    const t = await newTenant();
    await subscribeWebhooks(t);
    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, {
      carrierId: carrier.id,
      status: "sent",
      to: "+15555550142",
    });
    const ctx = serviceContext(env, t.id);
    expect(await isPhoneSuppressed(ctx, "+15555550142")).toBe(false);
    await postStatus(
      carrier,
      msg.id,
      status("failed", { ErrorCode: "21610", ErrorMessage: "Unsubscribed recipient" }),
    );
    expect(await getOutboxMessage(msg.id)).toMatchObject({
      status: "failed",
      errorCode: "21610",
      statusReason: "21610",
    });
    expect(await isPhoneSuppressed(ctx, "+15555550142")).toBe(true);
    expect(await webhookCount(t.id, "message.failed")).toBe(1);
    await expectWebhookIsMessage(t, "message.failed", msg.id);
    expect(await webhookCount(t.id, "contact.unsubscribed")).toBe(1);
  });

  it("refuses forged callbacks with 403: wrong token, tampered param, wrong URL, missing header", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sending" });
    const params = status("delivered");
    const cases: [string, (url: string) => Promise<string | null>][] = [
      ["wrong token", (url) => twilioSign("0".repeat(32), url, params)],
      ["tampered", (url) => twilioSign(TWILIO_TOKEN, url, { ...params, MessageStatus: "failed" })],
      ["other URL", (url) => twilioSign(TWILIO_TOKEN, url.replace("herald.test", "evil.test"), params)],
      ["other message", (url) => twilioSign(TWILIO_TOKEN, url.replace(msg.id, "msg_other"), params)],
      ["missing", async () => null],
    ];
    for (const [name, sign] of cases) {
      const res = await postStatus(carrier, msg.id, params, sign);
      expect(res.status, name).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect((await getOutboxMessage(msg.id)).status).toBe("sending");
    expect(await outboxEvents(msg.id)).toHaveLength(0);
  });

  it("answers 404 for an unknown carrier or one of another provider; a deleted carrier still verifies", async () => {
    const t = await newTenant();
    const params = status("delivered");
    const unknown = await postStatus({ id: "car_nope" }, null, params);
    expect(unknown.status).toBe(404);
    const sandbox = await t.api.post<{ id: string }>("/v1/carriers", { provider: "sandbox" });
    expect((await postStatus(sandbox.body, null, params)).status).toBe(404);

    const carrier = await twilioCarrier(t);
    const msg = await insertOutboxMessage(t.id, { carrierId: carrier.id, status: "sent" });
    expect((await t.api.del(`/v1/carriers/${carrier.id}`)).status).toBe(204);
    expect((await postStatus(carrier, msg.id, params)).status).toBe(204);
    expect((await getOutboxMessage(msg.id)).status).toBe("delivered");
    const forged = await postStatus(carrier, msg.id, params, (url) =>
      twilioSign("x".repeat(32), url, params),
    );
    expect(forged.status).toBe(403);
  });

  it("answers 413 past 256 KB before verifying anything", async () => {
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const res = await call("POST", `/callbacks/twilio/${carrier.id}/status`, {
      rawBody: `Body=${"x".repeat(256 * 1024 + 10)}`,
      headers: { ...FORM, "x-twilio-signature": "AAAA" },
    });
    expect(res.status).toBe(413);
  });

  it("cannot touch another tenant's message", async () => {
    const owner = await newTenant();
    const other = await newTenant();
    const carrier = await twilioCarrier(other);
    const msg = await insertOutboxMessage(owner.id, { status: "sending" });
    expect((await postStatus(carrier, msg.id, status("delivered"))).status).toBe(204);
    expect((await getOutboxMessage(msg.id)).status).toBe("sending");
  });
});
