import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, client } from "../helpers/api";
import { newTenant } from "../helpers/tenant";

interface Tenant {
  id: string;
  name: string;
  brand_name: string;
  mps: number;
  retention_days: number;
  created_at: string;
}
interface Problem {
  status: number;
  detail: string;
  errors: { path: string; message: string }[];
}

const admin = client(ADMIN_TOKEN);

describe("operator settings on POST /v1/tenants", () => {
  it("defaults mps to 100 and retention_days to 90, and the tenant's own key reads them", async () => {
    const t = await newTenant();
    const me = await t.api.get<Tenant>("/v1/tenant");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ mps: 100, retention_days: 90 });
  });

  it("accepts both at their bounds", async () => {
    for (const [mps, retention_days] of [
      [1, 7],
      [10_000, 3_650],
    ]) {
      const res = await admin.post<{ tenant: Tenant; api_key: string }>("/v1/tenants", {
        name: "Bounds",
        mps,
        retention_days,
      });
      expect(res.status).toBe(201);
      expect(res.body.tenant).toMatchObject({ mps, retention_days });
      const me = await call<Tenant>("GET", "/v1/tenant", { key: res.body.api_key });
      expect(me.body).toMatchObject({ mps, retention_days });
    }
  });

  it.each([
    ["mps", 0],
    ["mps", 10_001],
    ["mps", 2.5],
    ["mps", "100"],
    ["retention_days", 6],
    ["retention_days", 3_651],
    ["retention_days", 30.5],
  ])("answers 422 naming %s for %j", async (field, value) => {
    const res = await admin.post<Problem>("/v1/tenants", { name: "Bad", [field]: value });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.errors.map((e) => e.path)).toEqual([field]);
  });
});

describe("GET /v1/tenants", () => {
  it("lists every tenant newest first, a page at a time", async () => {
    const made = [await newTenant(), await newTenant(), await newTenant()].map((t) => t.id);
    const seen: Tenant[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const res = await admin.get<{ data: Tenant[]; next_cursor: string | null }>(`/v1/tenants?limit=2${q}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data);
      cursor = res.body.next_cursor;
    } while (cursor);
    const ids = seen.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of made) expect(ids).toContain(id);
    const key = (t: Tenant) => `${t.created_at}|${t.id}`;
    expect(seen.map(key)).toEqual([...seen.map(key)].sort().reverse());
    // The newest tenant of all is the first row of the first page.
    expect(ids[0]).toBe(made[2]);
  });

  it("answers 422 naming limit outside 1–200, and naming cursor for a forged one", async () => {
    for (const limit of [0, 201]) {
      const res = await admin.get<Problem>(`/v1/tenants?limit=${limit}`);
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e) => e.path)).toEqual(["query.limit"]);
    }
    const forged = await admin.get<Problem>("/v1/tenants?cursor=nope");
    expect(forged.status).toBe(422);
    expect(forged.body.errors.map((e) => e.path)).toEqual(["cursor"]);
  });
});

describe("GET and PATCH /v1/tenants/{id}", () => {
  it("reads one tenant and changes only the fields given", async () => {
    const t = await newTenant();
    const got = await admin.get<Tenant>(`/v1/tenants/${t.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: t.id, mps: 100, retention_days: 90 });

    const patched = await admin.patch<Tenant>(`/v1/tenants/${t.id}`, { mps: 250 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: t.id, mps: 250, retention_days: 90, name: got.body.name });

    const more = await admin.patch<Tenant>(`/v1/tenants/${t.id}`, { retention_days: 365, name: "Renamed" });
    expect(more.body).toMatchObject({ mps: 250, retention_days: 365, name: "Renamed" });
    expect(more.body.brand_name).toBe(got.body.brand_name);
    // The tenant sees the operator's change.
    expect((await t.api.get<Tenant>("/v1/tenant")).body).toMatchObject({ mps: 250, retention_days: 365 });
  });

  it("answers 404 for an unknown tenant id", async () => {
    const missing = "ten_0000000000000000000000";
    const got = await admin.get<Problem>(`/v1/tenants/${missing}`);
    expect(got.status).toBe(404);
    expect(got.headers.get("content-type")).toBe("application/problem+json");
    expect((await admin.patch(`/v1/tenants/${missing}`, { mps: 5 })).status).toBe(404);
  });

  it.each([
    ["mps", 0],
    ["mps", 10_001],
    ["mps", 1.5],
    ["mps", null],
    ["retention_days", 6],
    ["retention_days", 3_651],
    ["name", ""],
  ])("answers 422 naming %s for %j and changes nothing", async (field, value) => {
    const t = await newTenant();
    const res = await admin.patch<Problem>(`/v1/tenants/${t.id}`, { [field]: value });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.path)).toEqual([field]);
    expect((await admin.get<Tenant>(`/v1/tenants/${t.id}`)).body).toMatchObject({
      mps: 100,
      retention_days: 90,
    });
  });

  it("keeps the tenant's own settings out: they are 400 unknown fields here", async () => {
    const t = await newTenant();
    const res = await admin.patch<Problem>(`/v1/tenants/${t.id}`, { brand_name: "Other" });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: "brand_name", message: "is not a known field" }]);
  });
});

describe("a tenant's own key and the operator settings", () => {
  it("cannot change mps or retention_days with PATCH /v1/tenant: 400 unknown field, nothing changed", async () => {
    const t = await newTenant();
    for (const body of [{ mps: 10_000 }, { retention_days: 3_650 }, { brand_name: "X", mps: 5 }]) {
      const res = await t.api.patch<Problem>("/v1/tenant", body);
      expect(res.status).toBe(400);
      const field = Object.keys(body).find((k) => k !== "brand_name");
      expect(res.body.errors).toEqual([{ path: field, message: "is not a known field" }]);
    }
    const me = await t.api.get<Tenant>("/v1/tenant");
    expect(me.body).toMatchObject({ mps: 100, retention_days: 90 });
    expect(me.body.brand_name).not.toBe("X");
  });

  it("gets 401 on the operator routes, even for its own tenant (see test/auth/admin-routes.test.ts)", async () => {
    const t = await newTenant();
    const res = await call<Problem>("PATCH", `/v1/tenants/${t.id}`, { key: t.key, body: { mps: 10_000 } });
    expect(res.status).toBe(401);
    expect((await t.api.get<Tenant>("/v1/tenant")).body.mps).toBe(100);
  });
});
