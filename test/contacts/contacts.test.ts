import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant } from "../helpers/tenant";
import { type Contact, consentRows, type Page, type Problem } from "./helpers";

describe("POST /v1/contacts", () => {
  it("creates a contact with every field, an inferred zone, an age and a consent record", async () => {
    const t = await newTenant();
    const res = await t.api.post<Contact>("/v1/contacts", {
      phone: "(512) 555-0142",
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@example.com",
      external_id: "cus_1",
      locale: "en-US",
      birthday: "1990-04-17",
      attributes: { city: "Austin", region: "TX", income: 72000, vip: true },
      consent: { source: "checkout_form", text: "Yes, text me." },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^ct_/),
      phone: "+15125550142",
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@example.com",
      external_id: "cus_1",
      timezone: "America/Chicago",
      locale: "en-US",
      birthday: "1990-04-17",
      attributes: { city: "Austin", region: "TX", income: 72000, vip: true },
      subscribed: true,
      marketing_opt_in: true,
      unsubscribed_at: null,
    });
    const today = new Date().toISOString().slice(0, 10);
    const expectedAge = Number(today.slice(0, 4)) - 1990 - (today.slice(5) < "04-17" ? 1 : 0);
    // The age is counted on the contact's local date, which may lag UTC by a day around a birthday.
    expect([expectedAge, expectedAge - 1, expectedAge + 1]).toContain(res.body.age);
    expect(await consentRows(t.id)).toEqual([
      { change: "subscribed", source: "api", declared_source: "checkout_form", text: "Yes, text me." },
    ]);
    const got = await t.api.get<Contact>(`/v1/contacts/${res.body.id}`);
    expect(got.body).toEqual(res.body);
  });

  it("reads national numbers with `country`, else the tenant's default", async () => {
    const gb = await newTenant({ default_country: "GB" });
    const a = await gb.api.post<Contact>("/v1/contacts", { phone: "020 7946 0958" });
    expect(a.status).toBe(201);
    expect(a.body.phone).toBe("+442079460958");
    expect(a.body.timezone).toBe("Europe/London");
    const b = await gb.api.post<Contact>("/v1/contacts", { phone: "(415) 555-2671", country: "US" });
    expect(b.body.phone).toBe("+14155552671");
    expect(b.body.timezone).toBe("America/Los_Angeles");
  });

  it("stores no zone when the number straddles zones, and keeps a given zone", async () => {
    const t = await newTenant();
    const split = await t.api.post<Contact>("/v1/contacts", { phone: "+18502240100" });
    expect(split.body.timezone).toBeNull();
    const given = await t.api.post<Contact>("/v1/contacts", {
      phone: "+12125550198",
      timezone: "Europe/Paris",
    });
    expect(given.body.timezone).toBe("Europe/Paris");
  });

  it("answers 422 naming `phone` for an invalid number and writes nothing", async () => {
    const t = await newTenant();
    for (const phone of ["12345", "+1 555", "not a number", "+999123456789"]) {
      const res = await t.api.post<Problem>("/v1/contacts", { phone, first_name: "X" });
      expect(res.status, phone).toBe(422);
      expect(res.body.errors?.[0]?.path).toBe("phone");
    }
    const list = await t.api.get<Page<Contact>>("/v1/contacts");
    expect(list.body.data).toEqual([]);
  });

  it("names each bad field with 422, unknown fields with 400, and writes nothing", async () => {
    const t = await newTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ phone: "+15125550142", email: "nope" }, "email"],
      [{ phone: "+15125550142", birthday: "1990-02-30" }, "birthday"],
      [{ phone: "+15125550142", birthday: "--13-01" }, "birthday"],
      [{ phone: "+15125550142", timezone: "Mars/Base" }, "timezone"],
      [{ phone: "+15125550142", attributes: { "bad key": 1 } }, "attributes.bad key"],
      [{ phone: "+15125550142", attributes: { nested: { a: 1 } } }, "attributes.nested"],
      [{ phone: "+15125550142", attributes: { income: "lots" } }, "attributes.income"],
      [{ phone: "+15125550142", subscribed: "yes" }, "subscribed"],
      [{ phone: "+15125550142", locale: "english please" }, "locale"],
      [{ phone: "+15125550142", consent: {} }, "consent.source"],
      [{ phone: "+15125550142", country: "ZZ" }, "country"],
      [{ first_name: "No phone" }, "phone"],
    ];
    for (const [body, path] of cases) {
      const res = await t.api.post<Problem>("/v1/contacts", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(
        res.body.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    const unknown = await t.api.post<Problem>("/v1/contacts", { phone: "+15125550142", colour: "red" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: "colour", message: "is not a known field" }]);
    expect((await t.api.get<Page<Contact>>("/v1/contacts")).body.data).toEqual([]);
  });

  it("merges on update: absent fields unchanged, attributes key by key, null removes", async () => {
    const t = await newTenant();
    const first = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550142",
      first_name: "Ada",
      email: "ada@example.com",
      attributes: { city: "Austin", plan: "gold", vip: true },
    });
    const second = await t.api.post<Contact>("/v1/contacts", {
      phone: "512-555-0142",
      last_name: "Byron",
      email: null,
      attributes: { plan: "silver", vip: null, visits: 3 },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      id: first.body.id,
      first_name: "Ada",
      last_name: "Byron",
      email: null,
      attributes: { city: "Austin", plan: "silver", visits: 3 },
      created_at: first.body.created_at,
    });
    expect(second.body.attributes).not.toHaveProperty("vip");
  });

  it("refuses an external_id that belongs to another contact with 409", async () => {
    const t = await newTenant();
    await t.api.post("/v1/contacts", { phone: "+15125550142", external_id: "cus_1" });
    const clash = await t.api.post<Problem>("/v1/contacts", { phone: "+15125550143", external_id: "cus_1" });
    expect(clash.status).toBe(409);
    expect(clash.body.errors?.[0]?.path).toBe("external_id");
    expect((await t.api.get<Page<Contact>>("/v1/contacts")).body.data).toHaveLength(1);
    // Other tenants have their own external ids.
    const other = await newTenant();
    expect(
      (await other.api.post("/v1/contacts", { phone: "+15125550143", external_id: "cus_1" })).status,
    ).toBe(201);
  });

  it("an opt-out is lifted by a new consent record, not by `subscribed: true` alone", async () => {
    const t = await newTenant();
    const c = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142" });
    const out = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142", subscribed: false });
    expect(out.body.subscribed).toBe(false);
    expect(out.body.unsubscribed_at).not.toBeNull();
    const still = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142", subscribed: true });
    expect(still.body.subscribed).toBe(false);
    const back = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550142",
      consent: { source: "web_form", text: "Text me again" },
    });
    expect(back.body).toMatchObject({ id: c.body.id, subscribed: true, unsubscribed_at: null });
    expect((await consentRows(t.id)).map((r) => r.change)).toEqual([
      "subscribed",
      "unsubscribed",
      "subscribed",
    ]);
  });

  it("creates contacts with marketing_opt_in true by default, false when told", async () => {
    const t = await newTenant();
    const a = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142" });
    expect(a.body.marketing_opt_in).toBe(true);
    const b = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550143", marketing_opt_in: false });
    expect(b.body.marketing_opt_in).toBe(false);
  });

  it("returns a null age for a --MM-DD birthday", async () => {
    const t = await newTenant();
    const a = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142", birthday: "--02-29" });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ birthday: "--02-29", age: null });
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/contacts",
      scope: "contacts:write",
      body: { phone: "+15125550142" },
    });
  });
});

describe("GET /v1/contacts", () => {
  it("filters by phone (normalised), external_id and pages with a cursor", async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.api.post<Contact>("/v1/contacts", { phone: `+1512555014${i}`, external_id: `e${i}` });
      ids.push(r.body.id);
    }
    const byPhone = await t.api.get<Page<Contact>>(
      `/v1/contacts?phone=${encodeURIComponent("(512) 555-0142")}`,
    );
    expect(byPhone.body.data.map((c) => c.id)).toEqual([ids[2]]);
    const byExt = await t.api.get<Page<Contact>>("/v1/contacts?external_id=e4");
    expect(byExt.body.data.map((c) => c.id)).toEqual([ids[4]]);
    const first = await t.api.get<Page<Contact>>("/v1/contacts?limit=3");
    expect(first.body.data.map((c) => c.id)).toEqual([ids[4], ids[3], ids[2]]);
    const second = await t.api.get<Page<Contact>>(`/v1/contacts?limit=3&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((c) => c.id)).toEqual([ids[1], ids[0]]);
    expect(second.body.next_cursor).toBeNull();
  });

  it("filters by segment_id; an unknown segment or phone is a 422 naming it", async () => {
    const t = await newTenant();
    await t.api.post("/v1/contacts", { phone: "+15125550142", attributes: { city: "Austin" } });
    const b = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550143",
      attributes: { city: "Dallas" },
    });
    const seg = await t.api.post<{ id: string }>("/v1/segments", {
      name: "Dallas",
      filter: { field: "city", op: "eq", value: "Dallas" },
    });
    const res = await t.api.get<Page<Contact>>(`/v1/contacts?segment_id=${seg.body.id}`);
    expect(res.body.data.map((c) => c.id)).toEqual([b.body.id]);
    const missing = await t.api.get<Problem>("/v1/contacts?segment_id=seg_nope");
    expect(missing.status).toBe(422);
    expect(missing.body.errors?.[0]?.path).toBe("segment_id");
    const badPhone = await t.api.get<Problem>("/v1/contacts?phone=123");
    expect(badPhone.status).toBe(422);
    expect(badPhone.body.errors?.[0]?.path).toBe("phone");
    expect((await t.api.get("/v1/contacts?limit=500")).status).toBe(422);
    expect((await t.api.get("/v1/contacts?cursor=garbage")).status).toBe(422);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({ method: "GET", path: () => "/v1/contacts", scope: "contacts:read" });
  });
});
