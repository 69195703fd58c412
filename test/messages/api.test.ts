import { describe, expect, it } from "vitest";
import type { MessageView } from "../../src/routes/messages/schema";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant, type TestTenant } from "../helpers/tenant";

type Msg = MessageView;
type Detail = Msg & { events: { status: string; at: string; detail: string | null }[] };
type Problem = { status: number; errors?: { path: string; message: string }[] };

const PHONE = "+14155552671";

async function contact(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api.post<{ id: string }>("/v1/contacts", body);
  expect([200, 201]).toContain(r.status);
  return r.body.id;
}

const paths = (p: Problem) => (p.errors ?? []).map((e) => e.path);

describe("POST /v1/messages", () => {
  it("accepts a message (202) with encoding and segments, readable with its events", async () => {
    const t = await newTenant();
    const r = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: "Your code is 482913" });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({
      to: PHONE,
      body: "Your code is 482913",
      status: "queued",
      encoding: "GSM-7",
      segments: 1,
      program_id: null,
      contact_id: null,
      attempts: 0,
    });
    expect(r.body.id).toMatch(/^msg_/);
    const got = await t.api.get<Detail>(`/v1/messages/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(r.body.id);
    expect(got.body.events[0]).toMatchObject({ status: "queued" });
  });

  it("reads national numbers with the tenant's default country and links the existing contact", async () => {
    const t = await newTenant();
    const id = await contact(t, { phone: PHONE, first_name: "Ada" });
    const r = await t.api.post<Msg>("/v1/messages", { to: "(415) 555-2671", body: "Hi" });
    expect(r.status).toBe(202);
    expect(r.body.to).toBe(PHONE);
    expect(r.body.contact_id).toBe(id);
  });

  it("counts UCS-2 segments (70 / 67)", async () => {
    const t = await newTenant();
    const r = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: `It’s ${"x".repeat(70)}` });
    expect(r.body).toMatchObject({ encoding: "UCS-2", segments: 2 });
  });

  it("422 naming `to` for an invalid number, `contact_id` for an unknown contact", async () => {
    const t = await newTenant();
    const bad = await t.api.post<Problem>("/v1/messages", { to: "12345", body: "Hi" });
    expect(bad.status).toBe(422);
    expect(paths(bad.body)).toEqual(["to"]);
    const unknown = await t.api.post<Problem>("/v1/messages", { contact_id: "ct_nope", body: "Hi" });
    expect(unknown.status).toBe(422);
    expect(paths(unknown.body)).toEqual(["contact_id"]);
    const other = await newTenant();
    const theirs = await contact(other, { phone: PHONE });
    const cross = await t.api.post<Problem>("/v1/messages", { contact_id: theirs, body: "Hi" });
    expect(cross.status).toBe(422);
    expect(paths(cross.body)).toEqual(["contact_id"]);
  });

  it("422 when neither or both of to/contact_id or body/template are given; 400 for unknown fields", async () => {
    const t = await newTenant();
    expect(paths((await t.api.post<Problem>("/v1/messages", { body: "Hi" })).body)).toEqual(["to"]);
    expect(paths((await t.api.post<Problem>("/v1/messages", { to: PHONE })).body)).toEqual(["body"]);
    const both = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi", template: "Hi" });
    expect(both.status).toBe(422);
    expect(paths(both.body)).toEqual(["template"]);
    const unknown = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi", priority: 1 });
    expect(unknown.status).toBe(400);
    const validity = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi", validity_hours: 73 });
    expect(validity.status).toBe(422);
    expect(paths(validity.body)).toEqual(["validity_hours"]);
  });

  it("renders a template with data, the contact and the brand; 422 naming `template` when data is missing", async () => {
    const t = await newTenant({ brand_name: "Acme" });
    const id = await contact(t, { phone: PHONE, first_name: "Ada" });
    const r = await t.api.post<Msg>("/v1/messages", {
      contact_id: id,
      template:
        "{{ tenant.brand_name }}: hi {{ contact.first_name }}, order {{ order_name }} ships {{ ship_date }}.",
      data: { order_name: "#1042", ship_date: "Thu Dec 3" },
    });
    expect(r.status).toBe(202);
    expect(r.body.body).toBe("Acme: hi Ada, order #1042 ships Thu Dec 3.");
    expect(r.body.contact_id).toBe(id);
    const missing = await t.api.post<Problem>("/v1/messages", {
      to: PHONE,
      template: "Order {{ order_name }} ships {{ ship_date }}",
      data: { order_name: "#1042" },
    });
    expect(missing.status).toBe(422);
    expect(paths(missing.body)).toEqual(["template"]);
    expect(missing.body.errors?.[0]?.message).toContain("ship_date");
    const broken = await t.api.post<Problem>("/v1/messages", {
      to: PHONE,
      template: "Hi {{ contact.first_name ",
    });
    expect(broken.status).toBe(422);
    expect(paths(broken.body)).toEqual(["template"]);
  });

  it("marketing: footer appended, consent required, quiet hours enforced by default", async () => {
    const t = await newTenant();
    await contact(t, { phone: PHONE, timezone: "America/Los_Angeles" });
    await contact(t, { phone: "+14155552672", marketing_opt_in: false });
    const ok = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "20% off today",
      category: "marketing",
    });
    expect(ok.status).toBe(202);
    expect(ok.body.body).toBe("20% off today Reply STOP to opt out.");
    const noConsent = await t.api.post<Msg>("/v1/messages", {
      to: "+14155552672",
      body: "20% off",
      category: "marketing",
    });
    expect(noConsent.body).toMatchObject({ status: "suppressed", status_reason: "no_consent" });
    // 22:00 in Los Angeles → 08:00 the next morning
    const late = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "Weekend sale",
      category: "marketing",
      send_at: "2030-01-15T06:00:00Z",
    });
    expect(late.body).toMatchObject({ status: "scheduled", scheduled_at: "2030-01-15T16:00:00.000Z" });
    // transactional ignores quiet hours unless asked
    const tx = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "Code 1",
      send_at: "2030-01-15T06:00:00Z",
    });
    expect(tx.body.scheduled_at).toBe("2030-01-15T06:00:00.000Z");
    const txq = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "Code 2",
      send_at: "2030-01-15T06:00:00Z",
      quiet_hours: "enforce",
    });
    expect(txq.body.scheduled_at).toBe("2030-01-15T16:00:00.000Z");
  });

  it("suppresses an unsubscribed contact with opted_out", async () => {
    const t = await newTenant();
    await contact(t, { phone: PHONE, subscribed: false });
    const r = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: "Hi" });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
  });

  it("pins an existing carrier; 422 naming `carrier_id` for an unknown one", async () => {
    const t = await newTenant();
    const car = await t.api.post<{ id: string }>("/v1/carriers", { provider: "sandbox" });
    expect(car.status).toBe(201);
    const r = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "Hi",
      carrier_id: car.body.id,
      send_at: "2030-01-01T00:00:00Z",
    });
    expect(r.status).toBe(202);
    expect(r.body.carrier_id).toBe(car.body.id);
    const bad = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi", carrier_id: "car_nope" });
    expect(bad.status).toBe(422);
    expect(paths(bad.body)).toEqual(["carrier_id"]);
  });

  it("auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/messages",
      scope: "messages:write",
      body: { to: PHONE, body: "Hi" },
    });
  });
});

describe("GET /v1/messages", () => {
  it("lists newest first with filters and pagination", async () => {
    const t = await newTenant();
    const id = await contact(t, { phone: PHONE });
    const a = await t.api.post<Msg>("/v1/messages", {
      contact_id: id,
      body: "A",
      send_at: "2030-01-01T00:00:00Z",
    });
    const b = await t.api.post<Msg>("/v1/messages", {
      to: "+14155552672",
      body: "B",
      send_at: "2030-01-01T00:00:00Z",
    });
    const c = await t.api.post<Msg>("/v1/messages", {
      contact_id: id,
      body: "C",
      send_at: "2030-01-01T00:00:00Z",
    });
    await t.api.post(`/v1/messages/${c.body.id}/cancel`);

    const all = await t.api.get<{ data: Msg[]; next_cursor: string | null }>("/v1/messages");
    expect(all.body.data.map((m) => m.id)).toEqual([c.body.id, b.body.id, a.body.id]);
    const mine = await t.api.get<{ data: Msg[] }>(`/v1/messages?contact_id=${id}`);
    expect(mine.body.data.map((m) => m.id)).toEqual([c.body.id, a.body.id]);
    const scheduled = await t.api.get<{ data: Msg[] }>("/v1/messages?status=scheduled");
    expect(scheduled.body.data.map((m) => m.id)).toEqual([b.body.id, a.body.id]);
    const none = await t.api.get<{ data: Msg[] }>("/v1/messages?program_id=pg_nope");
    expect(none.body.data).toEqual([]);

    const p1 = await t.api.get<{ data: Msg[]; next_cursor: string | null }>("/v1/messages?limit=2");
    expect(p1.body.data).toHaveLength(2);
    expect(p1.body.next_cursor).not.toBeNull();
    const p2 = await t.api.get<{ data: Msg[]; next_cursor: string | null }>(
      `/v1/messages?limit=2&cursor=${p1.body.next_cursor}`,
    );
    expect(p2.body.data.map((m) => m.id)).toEqual([a.body.id]);
    expect(p2.body.next_cursor).toBeNull();
  });

  it("422 for a bad limit or status", async () => {
    const t = await newTenant();
    expect((await t.api.get("/v1/messages?limit=0")).status).toBe(422);
    expect((await t.api.get("/v1/messages?status=lost")).status).toBe(422);
  });

  it("auth matrix (list and get)", async () => {
    await expectAuthMatrix({ method: "GET", path: () => "/v1/messages", scope: "messages:read" });
    await expectAuthMatrix({
      method: "GET",
      path: async ({ owner }) => {
        const r = await owner.api.post<Msg>("/v1/messages", { to: PHONE, body: "Hi" });
        return `/v1/messages/${r.body.id}`;
      },
      scope: "messages:read",
      ownsResource: true,
    });
  });

  it("404 for an unknown id", async () => {
    const t = await newTenant();
    expect((await t.api.get("/v1/messages/msg_nope")).status).toBe(404);
  });
});

describe("POST /v1/messages/{id}/cancel", () => {
  it("cancels a pending message once; 409 afterwards; 404 for unknown", async () => {
    const t = await newTenant();
    const m = await t.api.post<Msg>("/v1/messages", {
      to: PHONE,
      body: "Later",
      send_at: "2030-01-01T00:00:00Z",
    });
    expect(m.body.status).toBe("scheduled");
    const c = await t.api.post<Msg>(`/v1/messages/${m.body.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe("canceled");
    const again = await t.api.post<Problem>(`/v1/messages/${m.body.id}/cancel`);
    expect(again.status).toBe(409);
    const got = await t.api.get<Detail>(`/v1/messages/${m.body.id}`);
    expect(got.body.events.map((e) => e.status)).toEqual(["scheduled", "canceled"]);
    expect((await t.api.post(`/v1/messages/msg_nope/cancel`)).status).toBe(404);
  });

  it("409 for a suppressed message", async () => {
    const t = await newTenant();
    await contact(t, { phone: PHONE, subscribed: false });
    const m = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: "Hi" });
    expect((await t.api.post(`/v1/messages/${m.body.id}/cancel`)).status).toBe(409);
  });

  it("auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: async ({ owner }) => {
        const r = await owner.api.post<Msg>("/v1/messages", {
          to: PHONE,
          body: "Later",
          send_at: "2030-01-01T00:00:00Z",
        });
        return `/v1/messages/${r.body.id}/cancel`;
      },
      scope: "messages:write",
      ownsResource: true,
    });
  });
});
