import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { fakeOutside, twilioCarrier, twilioInbound } from "./helpers";

const PHONE = "+12125550142";

afterEach(() => vi.restoreAllMocks());

async function setup() {
  const requests = fakeOutside();
  const t = await newTenant({ brand_name: "Acme" });
  await t.api.patch("/v1/tenant", { stop_text: "Acme: unsubscribed. Reply START to resubscribe." });
  const carrier = await twilioCarrier(t);
  const contact = (await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE })).body;
  await t.api.post("/v1/webhook-endpoints", {
    url: "https://receiver.example.com/hooks",
    events: ["contact.unsubscribed", "message.received"],
  });
  const pending = await t.api.post<{ id: string; status: string }>("/v1/messages", {
    to: PHONE,
    body: "Your table is booked for Friday",
    send_at: new Date(Date.now() + 6 * 3_600_000).toISOString(),
  });
  expect(pending.body.status).toBe("scheduled");
  return { requests, t, carrier, contact, pendingId: pending.body.id };
}

const optOuts = (tenantId: string) =>
  env.DB.prepare(
    "SELECT change, source, text FROM consent_records WHERE tenant_id = ? AND change = 'unsubscribed'",
  )
    .bind(tenantId)
    .all<{ change: string; source: string; text: string }>()
    .then((r) => r.results);

const webhookTypes = (tenantId: string) =>
  env.DB.prepare("SELECT event_type FROM webhook_deliveries WHERE tenant_id = ? ORDER BY created_at")
    .bind(tenantId)
    .all<{ event_type: string }>()
    .then((r) => r.results.map((d) => d.event_type));

/** The keyword replies Herald wrote to its outbox for the tenant (sent through the REST API, never inline). */
const replyBodies = async (tenantId: string) =>
  (
    await env.DB.prepare("SELECT body FROM messages WHERE tenant_id = ? AND keyword_reply = 1")
      .bind(tenantId)
      .all<{ body: string }>()
  ).results.map((r) => r.body);

const subscribed = async (t: TestTenant, id: string) =>
  (await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${id}`)).body.subscribed;

describe("revocation in other words (inbound)", () => {
  it.each([
    "please stop texting me",
    "Remove me from your list!!",
    "no más mensajes 🙏",
    "wrong number, stop",
  ])(
    "%j unsubscribes exactly like STOP: sms_phrase record with the verbatim text, cancel, reply, webhook",
    async (text) => {
      const { t, carrier, contact, pendingId } = await setup();
      const res = await twilioInbound(carrier, PHONE, text);
      expect(res.status).toBe(200);
      expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      expect(await replyBodies(t.id)).toEqual(["Acme: unsubscribed. Reply START to resubscribe."]);
      expect(await subscribed(t, contact.id)).toBe(false);
      expect(await optOuts(t.id)).toEqual([{ change: "unsubscribed", source: "sms_phrase", text }]);
      expect((await t.api.get<{ status: string }>(`/v1/messages/${pendingId}`)).body.status).toBe("canceled");
      expect(await webhookTypes(t.id)).toEqual(["contact.unsubscribed"]);
      const inbound = await env.DB.prepare("SELECT body, keyword FROM inbound_messages WHERE tenant_id = ?")
        .bind(t.id)
        .first();
      expect(inbound).toEqual({ body: text, keyword: "stop" });
      const after = await t.api.post<{ status: string }>("/v1/messages", { to: PHONE, body: "Hello?" });
      expect(after.body.status).toBe("suppressed");
    },
  );

  it.each([
    "can I cancel my order?",
    "my bus stop is on Elm",
    "when does the sale end?",
    "don't stop the delivery",
  ])("%j is an ordinary reply: stored, message.received, nothing canceled, no answer", async (text) => {
    const { t, carrier, contact, pendingId } = await setup();
    const res = await twilioInbound(carrier, PHONE, text);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(await subscribed(t, contact.id)).toBe(true);
    expect(await optOuts(t.id)).toEqual([]);
    expect((await t.api.get<{ status: string }>(`/v1/messages/${pendingId}`)).body.status).toBe("scheduled");
    expect(await webhookTypes(t.id)).toEqual(["message.received"]);
    expect(await replyBodies(t.id)).toEqual([]);
  });

  it("an exact keyword keeps source sms", async () => {
    const { t, carrier } = await setup();
    await twilioInbound(carrier, PHONE, "STOP");
    expect(await optOuts(t.id)).toEqual([{ change: "unsubscribed", source: "sms", text: "STOP" }]);
  });

  it("two deliveries of the same message at once: one opt-out, one record, one reply, one webhook", async () => {
    const { t, carrier, contact } = await setup();
    const messageSid = "SMrace0000000000000000000000000001";
    const answers = await Promise.all([
      twilioInbound(carrier, PHONE, "please stop texting me", { messageSid }),
      twilioInbound(carrier, PHONE, "please stop texting me", { messageSid }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await subscribed(t, contact.id)).toBe(false);
    expect(await optOuts(t.id)).toHaveLength(1);
    expect(await webhookTypes(t.id)).toEqual(["contact.unsubscribed"]);
    const replies = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ? AND keyword_reply = 1",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(replies?.n).toBe(1);
  });

  it("a late retry of a STOP that was answered does not undo a START sent since", async () => {
    const { t, carrier, contact } = await setup();
    const messageSid = "SMlate0000000000000000000000000001";
    await twilioInbound(carrier, PHONE, "stop texting me", { messageSid });
    await twilioInbound(carrier, PHONE, "START");
    expect(await subscribed(t, contact.id)).toBe(true);
    const retry = await twilioInbound(carrier, PHONE, "stop texting me", { messageSid });
    expect(retry.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(await subscribed(t, contact.id)).toBe(true);
    expect(await optOuts(t.id)).toHaveLength(1);
  });
});
