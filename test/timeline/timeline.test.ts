import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { waitFor } from "../hooks/helpers";
import { fakeOutside, twilioCarrier, twilioInbound } from "../inbound/helpers";

const PHONE = "+12125550142";
const tick = () => new Promise((r) => setTimeout(r, 5));

interface Entry {
  type: string;
  at: string;
  id: string;
  [k: string]: unknown;
}

afterEach(() => vi.restoreAllMocks());

async function contactWithHistory(t: TestTenant) {
  const carrier = await twilioCarrier(t);
  const c = (await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE, timezone: "America/New_York" }))
    .body;
  await tick();
  const msg = (
    await t.api.post<{ id: string }>("/v1/messages", {
      to: PHONE,
      body: "Billing: your invoice is ready",
      send_at: new Date(Date.now() + 3_600_000).toISOString(),
    })
  ).body;
  await tick();
  const ev = (
    await t.api.post<{ id: string }>("/v1/events", {
      name: "payment.received",
      contact: { id: c.id },
      data: { amount: 42 },
    })
  ).body;
  await tick();
  await twilioInbound(carrier, PHONE, "Is the invoice right?");
  await tick();
  await twilioInbound(carrier, PHONE, "STOP");
  // The STOP confirmation is an outbox message: wait until the carrier has it.
  await waitFor(async () => {
    const row = await env.DB.prepare("SELECT status FROM messages WHERE tenant_id = ? AND keyword_reply = 1")
      .bind(t.id)
      .first<{ status: string }>();
    return row?.status === "sent";
  });
  return { contact: c, message: msg, event: ev };
}

describe("GET /v1/contacts/{id}/timeline", () => {
  it("merges outbound and inbound messages, events and consent changes, newest first", async () => {
    fakeOutside();
    const t = await newTenant();
    const { contact, message, event } = await contactWithHistory(t);
    // Another contact's history never leaks in.
    await t.api.post("/v1/contacts", { phone: "+12125550143" });
    await t.api.post("/v1/messages", { to: "+12125550143", body: "Not for Ada" });

    const res = await t.api.get<{ data: Entry[]; next_cursor: string | null }>(
      `/v1/contacts/${contact.id}/timeline`,
    );
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    const data = res.body.data;
    const sorted = [...data].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));
    expect(data).toEqual(sorted);

    // The newest: the STOP (inbound + its consent change), then the question, the event, the message.
    const pick = (type: string) => data.filter((e) => e.type === type);
    expect(pick("consent").map((e) => [e.change, e.source, e.text])).toContainEqual([
      "unsubscribed",
      "sms",
      "STOP",
    ]);
    expect(pick("message.inbound").map((e) => [e.body, e.keyword])).toEqual([
      ["STOP", "stop"],
      ["Is the invoice right?", null],
    ]);
    expect(pick("event").map((e) => [e.id, e.name, e.data])).toContainEqual([
      event.id,
      "payment.received",
      { amount: 42 },
    ]);
    const outbound = pick("message.outbound").find((e) => e.id === message.id);
    // STOP canceled the pending invoice message; the timeline shows its final state.
    expect(outbound).toMatchObject({
      body: expect.stringContaining("Billing: your invoice is ready"),
      status: "canceled",
      to: PHONE,
    });
    expect(data.findIndex((e) => e.id === message.id)).toBeGreaterThan(
      data.findIndex((e) => e.body === "Is the invoice right?"),
    );
    // The STOP confirmation (sent through the outbox) is on the record too, as a sent message.
    expect(pick("message.outbound").filter((e) => e.status === "sent" && e.id !== message.id)).toHaveLength(
      1,
    );
    expect(data.some((e) => e.body === "Not for Ada")).toBe(false);
  });

  it("paginates with a keyset cursor across all sources: no gaps, no repeats", async () => {
    fakeOutside();
    const t = await newTenant();
    const { contact } = await contactWithHistory(t);
    const all = (await t.api.get<{ data: Entry[] }>(`/v1/contacts/${contact.id}/timeline?limit=200`)).body
      .data;
    expect(all.length).toBeGreaterThanOrEqual(5);
    const seen: Entry[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/contacts/${contact.id}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await t.api.get<{ data: Entry[]; next_cursor: string | null }>(q);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  it("404 for an unknown contact, 422 for a bad limit or cursor", async () => {
    const t = await newTenant();
    expect((await t.api.get("/v1/contacts/ct_nope/timeline")).status).toBe(404);
    const c = (await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE })).body;
    expect((await t.api.get(`/v1/contacts/${c.id}/timeline?limit=0`)).status).toBe(422);
    expect((await t.api.get(`/v1/contacts/${c.id}/timeline?cursor=garbage`)).status).toBe(422);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "GET",
      path: async ({ owner }) =>
        `/v1/contacts/${(await owner.api.post<{ id: string }>("/v1/contacts", { phone: PHONE })).body.id}/timeline`,
      scope: "contacts:read",
      ownsResource: true,
    });
  });
});
