import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant, type TestTenant } from "../helpers/tenant";

interface Segment {
  id: string;
  name: string;
  filter: unknown;
  count?: number;
}
interface Contact {
  id: string;
  phone: string;
  first_name: string | null;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
interface Problem {
  errors?: { path: string; message: string }[];
}

const yearsAgo = (n: number, md = "01-01") => `${new Date().getUTCFullYear() - n}-${md}`;

/** Five people with known fields; returns their ids by first name. */
async function seed(t: TestTenant): Promise<Record<string, string>> {
  const people = [
    {
      phone: "+15125550101",
      first_name: "Ann",
      email: "ann@shop.example",
      birthday: yearsAgo(30),
      locale: "en-US",
      attributes: { city: "Austin", region: "TX", gender: "f", income: 90000, vip: true, visits: 12 },
    },
    {
      phone: "+15125550102",
      first_name: "Bob",
      email: "bob@mail.example",
      birthday: `--${String(new Date().getUTCMonth() + 1).padStart(2, "0")}-15`,
      attributes: { city: "Dallas", region: "TX", gender: "m", income: 40000, vip: false, visits: 2 },
    },
    {
      phone: "+12125550103",
      first_name: "Cy",
      birthday: yearsAgo(17),
      attributes: { city: "New York", region: "NY", income: 55000, note: "50%_off" },
    },
    { phone: "+13035550104", first_name: "Di", attributes: { city: "Denver", region: "CO" } },
    { phone: "+13055550105", first_name: "Ed", subscribed: false, attributes: { region: "FL" } },
  ];
  const ids: Record<string, string> = {};
  for (const p of people) {
    const r = await t.api.post<Contact & { first_name: string }>("/v1/contacts", p);
    ids[r.body.first_name] = r.body.id;
  }
  return ids;
}

async function matchNames(t: TestTenant, filter: unknown): Promise<string[]> {
  const res = await t.api.post<{ count: number; sample: Contact[] }>("/v1/segments/preview", { filter });
  expect(res.status, JSON.stringify(filter)).toBe(200);
  expect(res.body.sample.length).toBe(Math.min(res.body.count, 10));
  return res.body.sample.map((c) => c.first_name ?? "").sort();
}

describe("segment filters", () => {
  it("answers every op on well-known fields and attributes", async () => {
    const t = await newTenant();
    await seed(t);
    const month = new Date().getUTCMonth() + 1;
    const cases: [unknown, string[]][] = [
      [{ field: "city", op: "eq", value: "Austin" }, ["Ann"]],
      [{ field: "city", op: "neq", value: "Austin" }, ["Bob", "Cy", "Di", "Ed"]],
      [{ field: "income", op: "gt", value: 55000 }, ["Ann"]],
      [{ field: "income", op: "gte", value: 55000 }, ["Ann", "Cy"]],
      [{ field: "income", op: "lt", value: 55000 }, ["Bob"]],
      [{ field: "income", op: "lte", value: 55000 }, ["Bob", "Cy"]],
      [{ field: "region", op: "in", value: ["TX", "CO"] }, ["Ann", "Bob", "Di"]],
      [{ field: "region", op: "not_in", value: ["TX", "CO"] }, ["Cy", "Ed"]],
      [{ field: "email", op: "contains", value: "SHOP" }, ["Ann"]],
      [{ field: "first_name", op: "starts_with", value: "b" }, ["Bob"]],
      [{ field: "gender", op: "exists" }, ["Ann", "Bob"]],
      [{ field: "gender", op: "not_exists" }, ["Cy", "Di", "Ed"]],
      [{ field: "age", op: "gte", value: 18 }, ["Ann"]],
      [{ field: "age", op: "lt", value: 18 }, ["Cy"]],
      [{ field: "age", op: "exists" }, ["Ann", "Cy"]],
      [{ field: "birthday_month", op: "eq", value: month }, ["Bob"]],
      [{ field: "subscribed", op: "eq", value: false }, ["Ed"]],
      [{ field: "locale", op: "eq", value: "en-US" }, ["Ann"]],
      [{ field: "timezone", op: "eq", value: "America/Denver" }, ["Di"]],
      [{ field: "created_at", op: "lte", value: "2000-01-01" }, []],
      [{ field: "created_at", op: "gte", value: "2000-01-01T00:00:00Z" }, ["Ann", "Bob", "Cy", "Di", "Ed"]],
      [{ field: "attributes.vip", op: "eq", value: true }, ["Ann"]],
      [{ field: "attributes.vip", op: "neq", value: true }, ["Bob", "Cy", "Di", "Ed"]],
      [{ field: "attributes.visits", op: "gte", value: 2 }, ["Ann", "Bob"]],
      [{ field: "attributes.visits", op: "in", value: [2, 3] }, ["Bob"]],
      [{ field: "attributes.city", op: "eq", value: "Denver" }, ["Di"]],
      // LIKE wildcards in a value are matched literally.
      [{ field: "attributes.note", op: "contains", value: "%_" }, ["Cy"]],
      [{ field: "attributes.note", op: "contains", value: "_%" }, []],
      [
        {
          all: [
            { field: "region", op: "eq", value: "TX" },
            {
              any: [
                { field: "income", op: "gt", value: 50000 },
                { field: "gender", op: "eq", value: "m" },
              ],
            },
          ],
        },
        ["Ann", "Bob"],
      ],
      [{ not: { field: "region", op: "eq", value: "TX" } }, ["Cy", "Di", "Ed"]],
      [{ not: { field: "gender", op: "eq", value: "f" } }, ["Bob", "Cy", "Di", "Ed"]],
    ];
    for (const [filter, names] of cases) {
      expect(await matchNames(t, filter), JSON.stringify(filter)).toEqual(names);
    }
  });

  it("treats injection attempts as plain values", async () => {
    const t = await newTenant();
    await seed(t);
    expect(await matchNames(t, { field: "city", op: "eq", value: "x' OR 1=1 --" })).toEqual([]);
    expect(
      await matchNames(t, { field: "attributes.city", op: "in", value: ["') OR 1=1 --", "Austin"] }),
    ).toEqual(["Ann"]);
    const bad = await t.api.post<Problem>("/v1/segments/preview", {
      filter: { field: "attributes.city') OR 1=1 --", op: "exists" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors?.[0]?.path).toBe("filter.field");
  });

  it("answers 422 naming a bad field, op or value type", async () => {
    const t = await newTenant();
    const cases: [unknown, string][] = [
      [{ field: "shoe_size", op: "eq", value: 9 }, "filter.field"],
      [{ field: "city", op: "like", value: "A" }, "filter.op"],
      [{ field: "income", op: "gt", value: "lots" }, "filter.value"],
      [{ field: "age", op: "contains", value: "3" }, "filter.op"],
      [{ field: "subscribed", op: "gt", value: true }, "filter.op"],
      [{ field: "city", op: "in", value: [] }, "filter.value"],
      [{ field: "city", op: "in", value: "Austin" }, "filter.value"],
      [{ field: "city", op: "eq" }, "filter.value"],
      [{ field: "city", op: "exists", value: 1 }, "filter.value"],
      [{ field: "created_at", op: "gt", value: "yesterday" }, "filter.value"],
      [{ all: [{ field: "city", op: "eq", value: 1 }] }, "filter.all.0.value"],
      [{ all: [] }, "filter.all"],
    ];
    for (const [filter, path] of cases) {
      const res = await t.api.post<Problem>("/v1/segments/preview", { filter });
      expect(res.status, JSON.stringify(filter)).toBe(422);
      expect(
        res.body.errors?.map((e) => e.path),
        JSON.stringify(filter),
      ).toContain(path);
    }
    let deep: unknown = { field: "city", op: "exists" };
    for (let i = 0; i < 16; i++) deep = { not: deep };
    expect((await t.api.post("/v1/segments/preview", { filter: deep })).status).toBe(422);
    expect(
      (await t.api.post("/v1/segments", { name: "x", filter: { field: "nope", op: "eq", value: 1 } })).status,
    ).toBe(422);
    expect(
      (await t.api.post("/v1/segments", { name: "x", filter: { field: "city", op: "exists" }, x: 1 })).status,
    ).toBe(400);
  });

  it("keeps long in-lists to one parameter", async () => {
    const t = await newTenant();
    await seed(t);
    const many = Array.from({ length: 1000 }, (_, i) => `City ${i}`).concat(["Dallas"]);
    expect(
      await matchNames(t, { field: "city", op: "in", value: many.slice(0, 999).concat(["Dallas"]) }),
    ).toEqual(["Bob"]);
  });
});

describe("segments CRUD", () => {
  it("creates, reads with a live count, lists its contacts, updates and deletes", async () => {
    const t = await newTenant();
    const ids = await seed(t);
    const created = await t.api.post<Segment>("/v1/segments", {
      name: "Texans",
      filter: { field: "region", op: "eq", value: "TX" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Texans",
      count: 2,
      filter: { field: "region", op: "eq", value: "TX" },
    });
    await t.api.post("/v1/contacts", { phone: "+15125550199", attributes: { region: "TX" } });
    const got = await t.api.get<Segment>(`/v1/segments/${created.body.id}`);
    expect(got.body.count).toBe(3);
    const members = await t.api.get<Page<Contact>>(`/v1/segments/${created.body.id}/contacts?limit=2`);
    expect(members.body.data).toHaveLength(2);
    const rest = await t.api.get<Page<Contact>>(
      `/v1/segments/${created.body.id}/contacts?limit=2&cursor=${members.body.next_cursor}`,
    );
    expect(rest.body.data.map((c) => c.id)).toEqual([ids.Ann]);
    const patched = await t.api.patch<Segment>(`/v1/segments/${created.body.id}`, {
      filter: { field: "region", op: "in", value: ["NY", "CO"] },
    });
    expect(patched.body).toMatchObject({ name: "Texans", count: 2 });
    const list = await t.api.get<Page<Segment>>("/v1/segments");
    expect(list.body.data.map((s) => s.id)).toEqual([created.body.id]);
    expect((await t.api.del(`/v1/segments/${created.body.id}`)).status).toBe(204);
    expect((await t.api.get(`/v1/segments/${created.body.id}`)).status).toBe(404);
    expect((await t.api.get(`/v1/segments/${created.body.id}/contacts`)).status).toBe(404);
    expect((await t.api.patch(`/v1/segments/${created.body.id}`, { name: "x" })).status).toBe(404);
    expect((await t.api.del(`/v1/segments/${created.body.id}`)).status).toBe(404);
    expect((await t.api.get("/v1/segments?limit=0")).status).toBe(422);
    expect((await t.api.patch("/v1/segments/seg_x", { name: "" })).status).toBe(422);
  });

  it("refuses to delete a segment a live program targets (409), allows it once the program is archived", async () => {
    const t = await newTenant();
    const seg = await t.api.post<Segment>("/v1/segments", {
      name: "VIPs",
      filter: { field: "attributes.vip", op: "eq", value: true },
    });
    const program = await t.api.post<{ id: string }>("/v1/programs", {
      name: "VIP news",
      kind: "custom",
      audience: { segment_id: seg.body.id },
    });
    expect(program.status).toBe(201);
    expect((await t.api.del(`/v1/segments/${seg.body.id}`)).status).toBe(409);
    expect((await t.api.get(`/v1/segments/${seg.body.id}`)).status).toBe(200);
    expect((await t.api.del(`/v1/programs/${program.body.id}`)).status).toBe(204);
    expect((await t.api.del(`/v1/segments/${seg.body.id}`)).status).toBe(204);
  });

  it("passes the auth matrix", async () => {
    const body = { name: "All", filter: { field: "subscribed", op: "eq", value: true } };
    const path = async ({ owner }: { owner: TestTenant }) => {
      const s = await owner.api.post<Segment>("/v1/segments", body);
      return `/v1/segments/${s.body.id}`;
    };
    await expectAuthMatrix({ method: "POST", path: () => "/v1/segments", scope: "segments:write", body });
    await expectAuthMatrix({ method: "GET", path: () => "/v1/segments", scope: "segments:read" });
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/segments/preview",
      scope: "segments:read",
      body: { filter: body.filter },
    });
    await expectAuthMatrix({ method: "GET", path, scope: "segments:read", ownsResource: true });
    await expectAuthMatrix({
      method: "GET",
      path: async (c) => `${await path(c)}/contacts`,
      scope: "segments:read",
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "PATCH",
      path,
      scope: "segments:write",
      body: { name: "x" },
      ownsResource: true,
    });
    await expectAuthMatrix({ method: "DELETE", path, scope: "segments:write", ownsResource: true });
  });
});
