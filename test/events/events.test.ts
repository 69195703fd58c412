import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant, type TestTenant } from "../helpers/tenant";

interface EventResult {
  id: string;
  name: string;
  contact_id: string;
  programs: { program_id: string; message_id: string | null; outcome: string }[];
}

interface Row {
  id: string;
  status: string;
  status_reason: string | null;
  body: string;
  scheduled_at: string | null;
  program_id: string | null;
  contact_id: string | null;
}

const NOON_NY = new Date("2026-06-10T16:00:00.000Z");
let phoneN = 0;
const phone = () => `+1415555${String(2000 + phoneN++).padStart(4, "0")}`;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => {
  vi.useRealTimers();
});

async function messagesOf(programId: string): Promise<Row[]> {
  const { results } = await env.DB.prepare("SELECT * FROM messages WHERE program_id = ? ORDER BY created_at")
    .bind(programId)
    .all<Row>();
  return results;
}

async function program(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const res = await t.api.post<{ id: string }>("/v1/programs", body);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

describe("POST /v1/events", () => {
  it("welcome: a new contact gets the personalised welcome once", async () => {
    const t = await newTenant({ brand_name: "Juniper Tea" });
    const pg = await program(t, { name: "Welcome", kind: "welcome" });
    const p = phone();
    const c = await t.api.post<{ id: string }>("/v1/contacts", { phone: p, first_name: "Ana" });
    expect(c.status).toBe(201);
    await t.api.post("/v1/contacts", { phone: p, first_name: "Ana B" });
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.body).toMatch(/^Hi Ana, welcome to Juniper Tea!/);
    expect(rows[0]?.contact_id).toBe(c.body.id);
    expect(["queued", "sending", "sent", "delivered"]).toContain(rows[0]?.status);
  });

  it("prospect: contact.created with a 48 h delay is scheduled", async () => {
    const t = await newTenant();
    const pg = await program(t, { name: "Nurture", kind: "prospect" });
    await t.api.post("/v1/contacts", { phone: phone(), first_name: "Bo" });
    const [row] = await messagesOf(pg);
    expect(row?.status).toBe("scheduled");
    expect(Date.parse(row?.scheduled_at ?? "")).toBeGreaterThanOrEqual(
      NOON_NY.getTime() + 2880 * 60_000 - 1000,
    );
  });

  it("delivery_delay: a new phone becomes a contact and gets the apology with the new date", async () => {
    const t = await newTenant({ brand_name: "Acme Outfitters" });
    const pg = await program(t, { name: "Delays", kind: "delivery_delay" });
    const p = phone();
    const res = await t.api.post<EventResult>("/v1/events", {
      name: "order.delayed",
      contact: { phone: p },
      data: { order_name: "#1042", estimated_delivery_at: "2026-12-03" },
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body.id).toMatch(/^evt_/);
    expect(res.body.programs).toHaveLength(1);
    expect(res.body.programs[0]?.program_id).toBe(pg);
    const [row] = await messagesOf(pg);
    expect(row?.id).toBe(res.body.programs[0]?.message_id);
    expect(row?.body).toBe(
      "Hi there, we're sorry - your Acme Outfitters order #1042 is running late. It should now arrive Thu Dec 3. Thanks for your patience!",
    );
    expect(res.body.programs[0]?.outcome).toBe(
      row?.status === "queued" ? "queued" : res.body.programs[0]?.outcome,
    );
    const contact = await t.api.get<{ phone: string; marketing_opt_in: boolean }>(
      `/v1/contacts/${res.body.contact_id}`,
    );
    expect(contact.body.phone).toBe(p);
    expect(contact.body.marketing_opt_in).toBe(false);
  });

  it("missing event data suppresses with missing_data instead of sending holes", async () => {
    const t = await newTenant();
    const pg = await program(t, { name: "Delays", kind: "delivery_delay" });
    const res = await t.api.post<EventResult>("/v1/events", {
      name: "order.delayed",
      contact: { phone: phone() },
    });
    expect(res.body.programs[0]?.outcome).toBe("suppressed");
    const [row] = await messagesOf(pg);
    expect(row?.status_reason).toBe("missing_data");
  });

  it("reports paused and not_in_audience, and honours Idempotency-Key", async () => {
    const t = await newTenant();
    const paused = await program(t, {
      name: "p",
      kind: "custom",
      trigger: { type: "event", event: "visit" },
      status: "paused",
    });
    const austin = await program(t, {
      name: "a",
      kind: "custom",
      category: "transactional",
      trigger: { type: "event", event: "visit" },
      audience: { filter: { field: "city", op: "eq", value: "Austin" } },
    });
    const body = { name: "visit", contact: { phone: phone() } };
    const res = await t.api.post<EventResult>("/v1/events", body, {
      headers: { "idempotency-key": "visit-1" },
    });
    expect(res.status).toBe(202);
    const outcomes = Object.fromEntries(res.body.programs.map((p) => [p.program_id, p.outcome]));
    expect(outcomes).toEqual({ [paused]: "paused", [austin]: "not_in_audience" });
    const again = await t.api.post<EventResult>("/v1/events", body, {
      headers: { "idempotency-key": "visit-1" },
    });
    expect(again.body.id).toBe(res.body.id);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ?")
      .bind(t.id)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(1);
  });

  it("delay_minutes schedules, exit_on cancels pending and holds later occurrences", async () => {
    const t = await newTenant();
    const pg = await program(t, {
      name: "Invoice reminder",
      kind: "custom",
      category: "transactional",
      template: "Hi {{ contact.first_name | default: 'there' }}, invoice {{ event.invoice }} is open.",
      trigger: { type: "event", event: "invoice.sent", delay_minutes: 60 },
      exit_on: ["payment.received"],
    });
    const c = await t.api.post<{ id: string }>("/v1/contacts", { phone: phone(), first_name: "Cy" });
    const first = await t.api.post<EventResult>("/v1/events", {
      name: "invoice.sent",
      contact: { id: c.body.id },
      data: { invoice: "INV-7" },
    });
    expect(first.body.programs[0]?.outcome).toBe("scheduled");
    const [row] = await messagesOf(pg);
    expect(row?.scheduled_at).toBe(new Date(NOON_NY.getTime() + 3_600_000).toISOString());
    await t.api.post("/v1/events", { name: "payment.received", contact: { id: c.body.id } });
    const after = await messagesOf(pg);
    expect(after[0]?.status).toBe("canceled");
    const later = await t.api.post<EventResult>("/v1/events", {
      name: "invoice.sent",
      contact: { id: c.body.id },
      data: { invoice: "INV-8" },
    });
    expect(later.body.programs[0]?.outcome).toBe("exited");
  });

  it("422 for an unknown contact, 400 for an unknown field", async () => {
    const t = await newTenant();
    const res = await t.api.post<{ errors: { path: string }[] }>("/v1/events", {
      name: "x",
      contact: { id: "ct_nope" },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]?.path).toBe("contact.id");
    expect((await t.api.post("/v1/events", { name: "x", contact: { external_id: "nope" } })).status).toBe(
      422,
    );
    expect((await t.api.post("/v1/events", { name: "x", contact: { phone: "12" } })).status).toBe(422);
    expect(
      (await t.api.post("/v1/events", { name: "x", contact: { phone: phone() }, extra: 1 })).status,
    ).toBe(400);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/events",
      scope: "events:write",
      body: { name: "x", contact: { phone: "+14155550199" } },
    });
  });
});
