import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant } from "../helpers/tenant";

interface Program {
  id: string;
  name: string;
  kind: string;
  category: string;
  template: string;
  trigger: Record<string, unknown>;
  audience: unknown;
  status: string;
  quiet_hours: string;
  validity_hours: number;
  exit_on: string[];
  carrier_id: string | null;
}

const KINDS = ["welcome", "prospect", "billing", "birthday", "recurring", "delivery_delay", "custom"];

describe("programs CRUD", () => {
  it("fills every kind's defaults from {name, kind}", async () => {
    const t = await newTenant();
    for (const kind of KINDS) {
      const res = await t.api.post<Program>("/v1/programs", { name: `My ${kind}`, kind });
      expect(res.status, res.text).toBe(201);
      expect(res.body.status).toBe("active");
      expect(res.body.validity_hours).toBe(24);
      expect(res.body.quiet_hours).toBe("enforce");
      expect(res.body.template).toContain("tenant.brand_name");
    }
    const list = await t.api.get<{ data: Program[] }>("/v1/programs?limit=200");
    const byKind = Object.fromEntries(list.body.data.map((p) => [p.kind, p]));
    expect(byKind.welcome?.trigger).toEqual({ type: "event", event: "contact.created" });
    expect(byKind.welcome?.category).toBe("transactional");
    expect(byKind.prospect?.trigger).toEqual({
      type: "event",
      event: "contact.created",
      delay_minutes: 2880,
    });
    expect(byKind.prospect?.category).toBe("marketing");
    expect(byKind.billing?.trigger).toMatchObject({
      type: "date",
      field: "attributes.billing_due_date",
      offset_days: -3,
    });
    expect(byKind.billing?.exit_on).toEqual(["payment.received"]);
    expect(byKind.birthday?.trigger).toMatchObject({
      type: "date",
      field: "birthday",
      repeat: "yearly",
      at: "10:00",
    });
    expect(byKind.recurring?.trigger).toEqual({ type: "schedule", cron: "0 10 * * 1", timezone: "contact" });
    expect(byKind.delivery_delay?.trigger).toEqual({ type: "event", event: "order.delayed" });
    expect(byKind.delivery_delay?.template).toMatch(/sorry/i);
    expect(byKind.delivery_delay?.template).toContain("event.estimated_delivery_at");
    expect(byKind.custom?.trigger).toEqual({ type: "manual" });
  });

  it("rejects a template that does not parse, with its position, and unknown roots", async () => {
    const t = await newTenant();
    const bad = await t.api.post<{ errors: { path: string; message: string }[] }>("/v1/programs", {
      name: "x",
      kind: "custom",
      template: "Hi\n{{ contact.first_name ",
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0]?.path).toBe("template");
    expect(bad.body.errors[0]?.message).toMatch(/line 2/);
    const root = await t.api.post<{ errors: { path: string; message: string }[] }>("/v1/programs", {
      name: "x",
      kind: "custom",
      template: "Hi {{ user.name }}",
    });
    expect(root.status).toBe(422);
    expect(root.body.errors[0]?.message).toMatch(/user/);
  });

  it("422s for unknown carrier, segment, bad cron and bad filter; 400 for unknown fields", async () => {
    const t = await newTenant();
    const car = await t.api.post("/v1/programs", { name: "x", kind: "custom", carrier_id: "car_nope" });
    expect(car.status).toBe(422);
    const seg = await t.api.post("/v1/programs", {
      name: "x",
      kind: "custom",
      audience: { segment_id: "seg_nope" },
    });
    expect(seg.status).toBe(422);
    const cron = await t.api.post("/v1/programs", {
      name: "x",
      kind: "recurring",
      trigger: { type: "schedule", cron: "61 * * * *" },
    });
    expect(cron.status).toBe(422);
    const filter = await t.api.post("/v1/programs", {
      name: "x",
      kind: "custom",
      audience: { filter: { field: "shoe_size", op: "eq", value: 3 } },
    });
    expect(filter.status).toBe(422);
    const unknown = await t.api.post("/v1/programs", { name: "x", kind: "custom", colour: "red" });
    expect(unknown.status).toBe(400);
  });

  it("gets, patches, pauses and archives", async () => {
    const t = await newTenant();
    const created = await t.api.post<Program>("/v1/programs", { name: "Delays", kind: "delivery_delay" });
    const id = created.body.id;
    const patched = await t.api.patch<Program>(`/v1/programs/${id}`, { status: "paused", validity_hours: 6 });
    expect(patched.status).toBe(200);
    expect(patched.body.status).toBe("paused");
    expect(patched.body.validity_hours).toBe(6);
    expect((await t.api.del(`/v1/programs/${id}`)).status).toBe(204);
    const got = await t.api.get<Program>(`/v1/programs/${id}`);
    expect(got.body.status).toBe("archived");
    expect((await t.api.get("/v1/programs/pg_nope")).status).toBe(404);
    expect((await t.api.patch(`/v1/programs/${id}`, { name: "again" })).status).toBe(409);
  });

  it("previews with encoding, segments, footer and warnings", async () => {
    const t = await newTenant({ brand_name: "Acme" });
    const p = await t.api.post<Program>("/v1/programs", {
      name: "promo",
      kind: "custom",
      template: "Hi {{ contact.first_name }}, it’s sale day at {{ tenant.brand_name }}!",
    });
    const res = await t.api.post<{
      body: string;
      encoding: string;
      segments: number;
      characters: number;
      warnings: string[];
    }>(`/v1/programs/${p.body.id}/preview`, { contact: { first_name: "Ana" } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.body).toContain("Hi Ana, it’s sale day at Acme!");
    expect(res.body.body).toContain("Reply STOP to opt out.");
    expect(res.body.encoding).toBe("UCS-2");
    expect(res.body.warnings).toContain("’ forces UCS-2");
    const missing = await t.api.post<{ warnings: string[] }>(`/v1/programs/${p.body.id}/preview`, {
      contact: {},
    });
    expect(missing.body.warnings.some((w) => w.includes("contact.first_name"))).toBe(true);
    const delay = await t.api.post<Program>("/v1/programs", { name: "d", kind: "delivery_delay" });
    const d = await t.api.post<{ body: string; encoding: string; warnings: string[] }>(
      `/v1/programs/${delay.body.id}/preview`,
      {
        contact: { first_name: "Sam", timezone: "America/Chicago" },
        event: { order_name: "#1042", estimated_delivery_at: "2026-12-03" },
      },
    );
    expect(d.body.body).toContain(
      "Hi Sam, we're sorry - your Acme order #1042 is running late. It should now arrive Thu Dec 3. Thanks for your patience!",
    );
    expect(d.body.body).not.toContain("STOP");
    expect(d.body.encoding).toBe("GSM-7");
    expect(d.body.warnings).toEqual([]);
    const unknownContact = await t.api.post(`/v1/programs/${delay.body.id}/preview`, {
      contact_id: "ct_nope",
    });
    expect(unknownContact.status).toBe(422);
  });

  it("passes the auth matrix on every route", async () => {
    const mk = async (owner: { api: { post: (p: string, b: unknown) => Promise<{ body: unknown }> } }) =>
      ((await owner.api.post("/v1/programs", { name: "x", kind: "custom" })).body as Program).id;
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/programs",
      scope: "programs:write",
      body: { name: "x", kind: "custom" },
    });
    await expectAuthMatrix({ method: "GET", path: () => "/v1/programs", scope: "programs:read" });
    await expectAuthMatrix({
      method: "GET",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}`,
      scope: "programs:read",
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "PATCH",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}`,
      scope: "programs:write",
      body: { name: "y" },
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "DELETE",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}`,
      scope: "programs:write",
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "POST",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}/preview`,
      scope: "programs:read",
      body: {},
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "POST",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}/run`,
      scope: "programs:write",
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "GET",
      path: async ({ owner }) => `/v1/programs/${await mk(owner)}/stats`,
      scope: "programs:read",
      ownsResource: true,
    });
  });
});
