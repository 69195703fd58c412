import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { waitFor } from "../hooks/helpers";
import { fakeOutside, type Recorded, twilioCarrier, twilioInbound } from "./helpers";

const PHONE = "+12125550142";

afterEach(() => vi.restoreAllMocks());

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

/** The texts Herald sent through Twilio's REST API to `to` whose body starts with `prefix`, once some are there. */
const sentTo = (requests: Recorded[], to: string, prefix: string) =>
  waitFor(async () => {
    const found = requests.filter((r) => r.form?.get("To") === to && r.form?.get("Body")?.startsWith(prefix));
    return found.length > 0 ? found : null;
  });

async function contact(t: TestTenant, phone = PHONE) {
  const res = await t.api.post<{ id: string }>("/v1/contacts", {
    phone,
    first_name: "Ada",
    timezone: "America/New_York",
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(res.text);
  return res.body;
}

async function scheduledMessage(t: TestTenant, to = PHONE) {
  const res = await t.api.post<{ id: string; status: string }>("/v1/messages", {
    to,
    body: `Your appointment is tomorrow ${crypto.randomUUID()}`,
    send_at: new Date(Date.now() + 6 * 3_600_000).toISOString(),
  });
  if (res.status !== 202) throw new Error(res.text);
  return res.body;
}

const consentRecords = (tenantId: string) =>
  env.DB.prepare(
    "SELECT change, source, text FROM consent_records WHERE tenant_id = ? ORDER BY created_at, id",
  )
    .bind(tenantId)
    .all<{ change: string; source: string; text: string }>()
    .then((r) => r.results);

describe("Twilio inbound keywords", () => {
  it("STOP unsubscribes at once, cancels every pending message to that phone and answers once with stop_text (an outbox message)", async () => {
    const requests = fakeOutside();
    const t = await newTenant();
    await t.api.patch("/v1/tenant", { stop_text: "Acme: unsubscribed, no more texts. Reply START to undo." });
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    const pending = [await scheduledMessage(t), await scheduledMessage(t)];
    expect(pending.map((m) => m.status)).toEqual(["scheduled", "scheduled"]);

    const res = await twilioInbound(carrier, PHONE, "  Stop!  ");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/xml");
    // Nothing inline: the reply goes through the outbox and Twilio's REST API, from the number texted.
    expect(res.text).toBe(EMPTY_TWIML);
    const replied = await sentTo(requests, PHONE, "Acme: unsubscribed");
    expect(replied.map((r) => [r.form?.get("Body"), r.form?.get("From")])).toEqual([
      ["Acme: unsubscribed, no more texts. Reply START to undo.", "+12125550100"],
    ]);
    const got = await t.api.get<{ subscribed: boolean; unsubscribed_at: string | null }>(
      `/v1/contacts/${c.id}`,
    );
    expect(got.body.subscribed).toBe(false);
    expect(got.body.unsubscribed_at).not.toBeNull();
    for (const m of pending) {
      const msg = await t.api.get<{ status: string }>(`/v1/messages/${m.id}`);
      expect(msg.body.status).toBe("canceled");
    }
    expect(await consentRecords(t.id)).toContainEqual({
      change: "unsubscribed",
      source: "sms",
      text: "  Stop!  ",
    });

    // The reply is on the record like any message: sent, from the number the person texted.
    const replies = await waitFor(async () => {
      const timeline = await t.api.get<{
        data: { type: string; body?: string; status?: string; from?: string | null }[];
      }>(`/v1/contacts/${c.id}/timeline`);
      const found = timeline.body.data.filter(
        (i) =>
          i.type === "message.outbound" && i.body?.startsWith("Acme: unsubscribed") && i.status === "sent",
      );
      return found.length > 0 ? found : null;
    });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ status: "sent", from: "+12125550100" });

    // New sends to that phone are suppressed.
    const after = await t.api.post<{ status: string; status_reason: string }>("/v1/messages", {
      to: PHONE,
      body: "Hi again",
    });
    expect(after.body).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
  });

  it("a carrier retry of the same inbound message has no second effect and no second reply", async () => {
    const requests = fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    await contact(t);
    const first = await twilioInbound(carrier, PHONE, "STOP", {
      messageSid: "SMdup000000000000000000000000001",
    });
    expect(first.text).toBe(EMPTY_TWIML);
    await sentTo(requests, PHONE, "");
    const again = await twilioInbound(carrier, PHONE, "STOP", {
      messageSid: "SMdup000000000000000000000000001",
    });
    expect(again.text).toBe(EMPTY_TWIML);
    expect((await consentRecords(t.id)).filter((r) => r.change === "unsubscribed")).toHaveLength(1);
    // Give a second reply every chance to show up: none does.
    await new Promise((r) => setTimeout(r, 300));
    expect(requests.filter((r) => r.form?.get("To") === PHONE)).toHaveLength(1);
  });

  it("with Advanced Opt-Out (OptOutType) Herald records the change and sends no second reply", async () => {
    fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    const res = await twilioInbound(carrier, PHONE, "stop", { extra: { OptOutType: "STOP" } });
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${c.id}`)).body.subscribed).toBe(false);
    expect(await consentRecords(t.id)).toContainEqual({
      change: "unsubscribed",
      source: "carrier",
      text: "stop",
    });
  });

  it("START resubscribes (a consent record) and confirms; HELP answers with help_text", async () => {
    const requests = fakeOutside();
    const t = await newTenant();
    await t.api.patch("/v1/tenant", {
      help_text: "Acme: help at acme.example/help. Msg & data rates may apply. Reply STOP to opt out.",
    });
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    await twilioInbound(carrier, PHONE, "opt-out");
    const start = await twilioInbound(carrier, PHONE, "Unstop.");
    expect(start.text).toBe(EMPTY_TWIML);
    await waitFor(async () => requests.some((r) => r.form?.get("Body")?.includes("resubscribed")));
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${c.id}`)).body.subscribed).toBe(true);
    expect((await consentRecords(t.id)).map((r) => [r.change, r.text]).slice(-2)).toEqual([
      ["unsubscribed", "opt-out"],
      ["subscribed", "Unstop."],
    ]);
    const help = await twilioInbound(carrier, PHONE, "info");
    expect(help.text).toBe(EMPTY_TWIML);
    expect((await sentTo(requests, PHONE, "Acme: help")).map((r) => r.form?.get("Body"))).toEqual([
      "Acme: help at acme.example/help. Msg & data rates may apply. Reply STOP to opt out.",
    ]);
    const sent = await t.api.post<{ status: string }>("/v1/messages", { to: PHONE, body: "Welcome back" });
    expect(sent.body.status).not.toBe("suppressed");
  });

  it("an opt-out outlives deleting the contact", async () => {
    fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    await twilioInbound(carrier, PHONE, "QUIT");
    expect((await t.api.del(`/v1/contacts/${c.id}`)).status).toBe(204);
    await contact(t);
    const res = await t.api.post<{ status: string; status_reason: string }>("/v1/messages", {
      to: PHONE,
      body: "Hello",
    });
    expect(res.body).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
  });

  it("other texts are stored and sent to webhooks as message.received", async () => {
    const requests = fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    const ep = await t.api.post<{ id: string; secret: string }>("/v1/webhook-endpoints", {
      url: "https://receiver.example.com/inbound",
      events: ["message.received", "contact.unsubscribed"],
    });
    const res = await twilioInbound(carrier, PHONE, "Stop sending the blue one, I want red");
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    const hook = await waitFor(async () =>
      requests.find((r) => r.url === "https://receiver.example.com/inbound"),
    );
    const payload = new Webhook(ep.body.secret).verify(hook.body, hook.headers) as {
      type: string;
      data: { body: string; from: string; contact_id: string };
    };
    expect(payload.type).toBe("message.received");
    expect(payload.data).toMatchObject({
      body: "Stop sending the blue one, I want red",
      from: PHONE,
      contact_id: c.id,
    });
    const stored = await env.DB.prepare(
      "SELECT body, keyword, contact_id FROM inbound_messages WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first();
    expect(stored).toEqual({
      body: "Stop sending the blue one, I want red",
      keyword: null,
      contact_id: c.id,
    });
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${c.id}`)).body.subscribed).toBe(true);
  });

  it("STOP fires contact.unsubscribed to webhooks", async () => {
    const requests = fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    const ep = await t.api.post<{ secret: string }>("/v1/webhook-endpoints", {
      url: "https://receiver.example.com/consent",
      events: ["contact.unsubscribed", "contact.subscribed"],
    });
    await twilioInbound(carrier, PHONE, "end");
    const hook = await waitFor(async () =>
      requests.find((r) => r.url === "https://receiver.example.com/consent"),
    );
    const payload = new Webhook(ep.body.secret).verify(hook.body, hook.headers) as {
      type: string;
      data: Record<string, unknown>;
    };
    expect(payload).toMatchObject({
      type: "contact.unsubscribed",
      data: { contact_id: c.id, phone: PHONE, source: "sms", text: "end" },
    });
  });

  it("403 when the signature is wrong or missing; 404 for an unknown carrier", async () => {
    fakeOutside();
    const t = await newTenant();
    const carrier = await twilioCarrier(t);
    const c = await contact(t);
    expect(
      (await twilioInbound(carrier, PHONE, "STOP", { token: "wrongwrongwrongwrongwrongwrong00" })).status,
    ).toBe(403);
    expect((await twilioInbound({ id: "car_unknown" }, PHONE, "STOP")).status).toBe(404);
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${c.id}`)).body.subscribed).toBe(true);
  });
});
