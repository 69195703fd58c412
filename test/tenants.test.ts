import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call } from "./helpers/api";
import { expectAuthMatrix } from "./helpers/auth-matrix";
import { newTenant } from "./helpers/tenant";

describe("POST /v1/tenants", () => {
  it("creates a tenant with defaults and returns a working key once", async () => {
    const res = await call<{ tenant: Record<string, unknown>; api_key: string }>("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: { name: "Acme" },
    });
    expect(res.status).toBe(201);
    expect(res.body.api_key).toMatch(/^hk_live_[0-9A-Za-z]{43}$/);
    expect(res.body.tenant).toMatchObject({
      name: "Acme",
      brand_name: "Acme",
      default_country: "US",
      timezone: "America/New_York",
      quiet_hours: { start: "21:00", end: "08:00" },
      frequency_cap: { max_messages: 3, window_hours: 24 },
      dedupe_window_hours: 24,
      opt_out_footer: "Reply STOP to opt out.",
    });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const me = await call<{ id: string }>("GET", "/v1/tenant", { key: res.body.api_key });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(res.body.tenant.id);
  });

  it("refuses without the admin token", async () => {
    expect((await call("POST", "/v1/tenants", { body: { name: "x" } })).status).toBe(401);
    expect((await call("POST", "/v1/tenants", { key: "wrong", body: { name: "x" } })).status).toBe(401);
    const t = await newTenant();
    expect((await call("POST", "/v1/tenants", { key: t.key, body: { name: "x" } })).status).toBe(401);
  });

  it("names the bad field", async () => {
    const res = await call<{ errors: { path: string }[] }>("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: { name: "x", timezone: "Mars/Olympus" },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.path)).toContain("timezone");
  });

  it("rejects unknown fields with 400, malformed JSON with 400, wrong content type with 415", async () => {
    const unknown = await call<{ errors: { path: string }[] }>("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: { name: "x", colour: "red" },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: "colour", message: "is not a known field" }]);
    const malformed = await call("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      rawBody: '{"name": ',
      headers: { "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toBe("application/problem+json");
    const form = await call("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      rawBody: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
  });

  it("answers 413 past 1 MB", async () => {
    const res = await call("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: { name: "x", support_contact: "a".repeat(1024 * 1024 + 10) },
    });
    expect(res.status).toBe(413);
  });
});

describe("GET/PATCH /v1/tenant", () => {
  it("updates only the fields given", async () => {
    const t = await newTenant();
    const res = await t.api.patch<Record<string, unknown>>("/v1/tenant", {
      quiet_hours: { start: "22:00", end: "07:30" },
      stop_text: "Acme: unsubscribed. Reply START to come back.",
    });
    expect(res.status).toBe(200);
    expect(res.body.quiet_hours).toEqual({ start: "22:00", end: "07:30" });
    expect(res.body.stop_text).toBe("Acme: unsubscribed. Reply START to come back.");
    expect(res.body.frequency_cap).toEqual({ max_messages: 3, window_hours: 24 });
    const bad = await t.api.patch<{ errors: { path: string }[] }>("/v1/tenant", {
      quiet_hours: { start: "25:00", end: "07:00" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0]?.path).toBe("quiet_hours.start");
    const again = await t.api.get<Record<string, unknown>>("/v1/tenant");
    expect(again.body.quiet_hours).toEqual({ start: "22:00", end: "07:30" });
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({ method: "GET", path: () => "/v1/tenant" });
    await expectAuthMatrix({
      method: "PATCH",
      path: () => "/v1/tenant",
      scope: "*",
      body: { brand_name: "New" },
    });
  });
});

describe("API keys", () => {
  it("creates, lists, scopes and revokes keys", async () => {
    const t = await newTenant();
    const created = await t.api.post<{ id: string; key: string; scopes: string[] }>("/v1/api-keys", {
      name: "Reader",
      scopes: ["contacts:read"],
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^hk_live_/);
    const list = await t.api.get<{ data: { id: string; key?: string }[] }>("/v1/api-keys");
    expect(list.body.data.find((k) => k.id === created.body.id)).toBeDefined();
    expect(list.body.data.every((k) => k.key === undefined)).toBe(true);
    // A key may only grant scopes it has.
    const reader = await call("POST", "/v1/api-keys", {
      key: created.body.key,
      body: { name: "x", scopes: ["keys:write"] },
    });
    expect(reader.status).toBe(403);
    expect((await t.api.del(`/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await call("GET", "/v1/tenant", { key: created.body.key })).status).toBe(401);
  });

  it("paginates with a cursor", async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) await t.api.post("/v1/api-keys", { name: `k${i}` });
    const first = await t.api.get<{ data: { id: string }[]; next_cursor: string | null }>(
      "/v1/api-keys?limit=2",
    );
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).not.toBeNull();
    const second = await t.api.get<{ data: { id: string }[]; next_cursor: string | null }>(
      `/v1/api-keys?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.data).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    expect(new Set([...first.body.data, ...second.body.data].map((k) => k.id)).size).toBe(4);
    expect((await t.api.get("/v1/api-keys?limit=0")).status).toBe(422);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/api-keys",
      scope: "keys:write",
      body: { name: "Deploy", scopes: ["*"] },
    });
    await expectAuthMatrix({ method: "GET", path: () => "/v1/api-keys", scope: "keys:read" });
  });

  it("another tenant's key id is a 404", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const list = await a.api.get<{ data: { id: string }[] }>("/v1/api-keys");
    const id = list.body.data[0]?.id;
    expect((await b.api.del(`/v1/api-keys/${id}`)).status).toBe(404);
  });
});

describe("system", () => {
  it("serves health and the OpenAPI document (the /docs page: test/system/docs.test.ts)", async () => {
    const health = await call<{ status: string; version: string }>("GET", "/health");
    expect(health.body).toEqual({ status: "ok", version: expect.any(String) });
    const doc = await call<{ openapi: string; paths: Record<string, unknown> }>("GET", "/openapi.json", {
      unchecked: true,
    });
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toContain("/v1/tenants");
    const missing = await call("GET", "/nope", { unchecked: true });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
  });
});
