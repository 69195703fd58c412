import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileFilter, type Filter, FilterSchema, packParams } from "../../src/domain/segment-filter";

type Scalar = string | number | boolean;
interface Person {
  id: string;
  city?: string;
  income?: number;
  subscribed: boolean;
  attributes: Record<string, Scalar>;
}

const TENANT = "ten_filterprops";
const NOW = new Date("2026-06-15T12:00:00Z");
const cities = ["Austin", "austin", "Dallas", "A_b%", "Zed"];

const personArb: fc.Arbitrary<Omit<Person, "id">> = fc.record({
  city: fc.option(fc.constantFrom(...cities), { nil: undefined }),
  income: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  subscribed: fc.boolean(),
  attributes: fc.record(
    {
      visits: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom("2", "x", "10"), fc.boolean()),
      vip: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
});

const people: Person[] = fc
  .sample(personArb, { numRuns: 40, seed: 42 })
  .map((p, i) => ({ ...p, id: `ct_prop${String(i).padStart(3, "0")}` }));

/** SQLite's view of a value: booleans are 0/1; numbers sort before text. */
const norm = (v: Scalar): number | string => (typeof v === "boolean" ? (v ? 1 : 0) : v);
const cmp = (a: number | string, b: number | string): number => {
  if (typeof a !== typeof b) return typeof a === "number" ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

function fieldValue(p: Person, field: string): Scalar | undefined {
  if (field === "city" || field === "attributes.city") return p.city;
  if (field === "income") return p.income;
  if (field === "subscribed") return p.subscribed;
  return p.attributes[field.slice("attributes.".length)];
}

/** The reference semantics the SQL must agree with. */
function matches(p: Person, f: Filter): boolean {
  if ("all" in f) return f.all.every((x) => matches(p, x));
  if ("any" in f) return f.any.some((x) => matches(p, x));
  if ("not" in f) return !matches(p, f.not);
  const raw = fieldValue(p, f.field);
  const v = raw === undefined ? undefined : norm(raw);
  const eq = (x: Scalar) => v !== undefined && cmp(v, norm(x)) === 0;
  switch (f.op) {
    case "exists":
      return v !== undefined;
    case "not_exists":
      return v === undefined;
    case "eq":
      return eq(f.value as Scalar);
    case "neq":
      return v === undefined || !eq(f.value as Scalar);
    case "in":
      return (f.value as Scalar[]).some(eq);
    case "not_in":
      return v === undefined || !(f.value as Scalar[]).some(eq);
    case "contains":
      return v !== undefined && String(v).toLowerCase().includes(String(f.value).toLowerCase());
    case "starts_with":
      return v !== undefined && String(v).toLowerCase().startsWith(String(f.value).toLowerCase());
    default: {
      if (v === undefined) return false;
      const c = cmp(v, norm(f.value as Scalar));
      return f.op === "gt" ? c > 0 : f.op === "gte" ? c >= 0 : f.op === "lt" ? c < 0 : c <= 0;
    }
  }
}

const textValue = fc.constantFrom(...cities, "a", "%", "_", "B", "x' OR 1=1 --");
const anyValue = fc.oneof(
  fc.integer({ min: -1, max: 5 }),
  fc.constantFrom("2", "x", "10", "a"),
  fc.boolean(),
);

const leafArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({
    field: fc.constantFrom("city", "attributes.city"),
    op: fc.constantFrom("eq", "neq", "gt", "gte", "lt", "lte", "contains", "starts_with"),
    value: textValue,
  }),
  fc.record({
    field: fc.constantFrom("city"),
    op: fc.constantFrom("in", "not_in"),
    value: fc.array(textValue, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    field: fc.constant("income"),
    op: fc.constantFrom("eq", "neq", "gt", "gte", "lt", "lte"),
    value: fc.integer({ min: -1, max: 6 }),
  }),
  fc.record({ field: fc.constant("subscribed"), op: fc.constantFrom("eq", "neq"), value: fc.boolean() }),
  fc.record({
    field: fc.constantFrom("attributes.visits", "attributes.vip"),
    op: fc.constantFrom("eq", "neq"),
    value: anyValue,
  }),
  fc.record({
    field: fc.constant("attributes.visits"),
    op: fc.constantFrom("gt", "gte", "lt", "lte"),
    value: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constantFrom("2", "x")),
  }),
  fc.record({
    field: fc.constantFrom("attributes.visits", "attributes.vip"),
    op: fc.constantFrom("in", "not_in"),
    value: fc.array(anyValue, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    field: fc.constantFrom("city", "income", "attributes.visits", "attributes.vip", "attributes.none"),
    op: fc.constantFrom("exists", "not_exists"),
  }),
) as fc.Arbitrary<Filter>;

const filterArb: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.record({ all: fc.array(tie("f"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ any: fc.array(tie("f"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie("f") }),
  ),
})).f;

beforeAll(async () => {
  await env.DB.prepare(
    `INSERT INTO contacts (id, tenant_id, phone, attributes, subscribed, marketing_opt_in, created_at, updated_at)
     SELECT json_extract(value, '$.id'), ?, json_extract(value, '$.phone'), json(json_extract(value, '$.attributes')),
       json_extract(value, '$.subscribed'), 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
     FROM json_each(?)`,
  )
    .bind(
      TENANT,
      JSON.stringify(
        people.map((p, i) => {
          const attributes: Record<string, Scalar> = { ...p.attributes };
          if (p.city !== undefined) attributes.city = p.city;
          if (p.income !== undefined) attributes.income = p.income;
          return {
            id: p.id,
            phone: `+1512555${String(2000 + i)}`,
            attributes,
            subscribed: p.subscribed ? 1 : 0,
          };
        }),
      ),
    )
    .run();
});

async function sqlMatches(f: Filter, maxDirectParams?: number): Promise<string[]> {
  const compiled = compileFilter(f, { now: NOW });
  const { sql, params } = maxDirectParams === undefined ? compiled : packParams(compiled, maxDirectParams);
  const res = await env.DB.prepare(`SELECT id FROM contacts WHERE tenant_id = ? AND ${sql} ORDER BY id`)
    .bind(TENANT, ...params)
    .all<{ id: string }>();
  return res.results.map((r) => r.id);
}

describe("compileFilter", () => {
  it("binds every value: the SQL text depends only on the filter's shape (property)", () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        expect(FilterSchema.safeParse(f).success).toBe(true);
        const { sql, params } = compileFilter(f, { now: NOW });
        expect(sql.split("?").length - 1).toBe(params.length);
        expect(sql).not.toMatch(/OR 1=1|Austin|Dallas|Zed/);
        expect(sql).not.toContain("attributes.");
      }),
      { numRuns: 300 },
    );
  });

  it("selects exactly the contacts the reference semantics select (property, against D1)", async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, async (f) => {
        const expected = people.filter((p) => matches(p, f)).map((p) => p.id);
        expect(await sqlMatches(f)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("a filter packed into one JSON parameter selects exactly what its plain form selects (property)", async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, async (f) => {
        const packed = packParams(compileFilter(f, { now: NOW }), 0);
        expect(packed.params.length).toBeLessThanOrEqual(1);
        expect(await sqlMatches(f, 0)).toEqual(await sqlMatches(f));
      }),
      { numRuns: 100 },
    );
  });

  it("500 negated attribute conditions bind one parameter and run on D1", async () => {
    const f: Filter = {
      not: {
        any: Array.from({ length: 500 }, (_, i) => ({
          field: "attributes.visits",
          op: "eq",
          value: i + 100,
        })),
      },
    };
    expect(FilterSchema.safeParse(f).success).toBe(true);
    expect(compileFilter(f, { now: NOW }).params.length).toBeGreaterThan(100);
    expect(await sqlMatches(f, 40)).toEqual(people.map((p) => p.id));
  });

  it("the widest and deepest filters within the bounds run on D1, or are refused at write", async () => {
    const leaves = (n: number, field = "attributes.visits"): Filter[] =>
      Array.from({ length: n }, (_, i) => ({
        field,
        op: "neq",
        value: field === "city" ? `c${i}` : i + 100,
      }));
    // 16 levels, each with 30 conditions and the next level: a tall tree if joined in a row.
    let chain: Filter = { any: leaves(30) };
    for (let i = 0; i < 14; i++)
      chain = i % 2 ? { any: [...leaves(30), chain] } : { all: [...leaves(30), chain] };
    const nestedNots = Array.from({ length: 7 }).reduce<Filter>(
      (f) => ({ not: { all: [f, { field: "city", op: "exists" }] } }),
      { field: "city", op: "neq", value: "x" },
    );
    for (const f of [chain, nestedNots, { all: leaves(500, "city") }]) {
      expect(FilterSchema.safeParse(f).success).toBe(true);
      await sqlMatches(f, 40);
    }
    // 500 negated age conditions would compile past D1's statement size: refused at write.
    const ages = FilterSchema.safeParse({ not: { any: leaves(500, "age") } });
    expect(ages.success).toBe(false);
  });

  it("`not` is an exact complement, even for missing values (property)", async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, async (f) => {
        const inside = await sqlMatches(f);
        const outside = await sqlMatches({ not: f });
        expect([...inside, ...outside].sort()).toEqual(people.map((p) => p.id));
      }),
      { numRuns: 60 },
    );
  });

  it("computes age on the given day and ignores --MM-DD birthdays", async () => {
    const rows: [string, string][] = [
      ["ct_age1", "2008-06-15"],
      ["ct_age2", "2008-06-16"],
      ["ct_age3", "--06-15"],
      ["ct_age4", "1990-02-28"],
    ];
    for (const [id, birthday] of rows) {
      await env.DB.prepare(
        `INSERT INTO contacts (id, tenant_id, phone, birthday, attributes, subscribed, marketing_opt_in, created_at, updated_at)
         VALUES (?, 'ten_age', ?, ?, '{}', 1, 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
      )
        .bind(id, `+1512555${id.slice(-1)}999`, birthday)
        .run();
    }
    const ids = async (f: Filter) => {
      const { sql, params } = compileFilter(f, { now: NOW });
      const r = await env.DB.prepare(
        `SELECT id FROM contacts WHERE tenant_id = 'ten_age' AND ${sql} ORDER BY id`,
      )
        .bind(...params)
        .all<{ id: string }>();
      return r.results.map((x) => x.id);
    };
    expect(await ids({ field: "age", op: "gte", value: 18 })).toEqual(["ct_age1", "ct_age4"]);
    expect(await ids({ field: "age", op: "eq", value: 17 })).toEqual(["ct_age2"]);
    expect(await ids({ field: "age", op: "not_exists" })).toEqual(["ct_age3"]);
    expect(await ids({ field: "birthday_month", op: "eq", value: 6 })).toEqual([
      "ct_age1",
      "ct_age2",
      "ct_age3",
    ]);
  });

  it("refuses attribute keys that are not plain identifiers", () => {
    for (const field of [
      "attributes.",
      "attributes.a b",
      "attributes.a.b",
      "attributes.x') --",
      `attributes.${"k".repeat(65)}`,
    ]) {
      expect(FilterSchema.safeParse({ field, op: "exists" }).success, field).toBe(false);
      expect(() => compileFilter({ field, op: "exists" }, { now: NOW }), field).toThrow();
    }
  });
});
