import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { compileFilter, type Filter } from "../../src/domain/segment-filter";

/**
 * How SQLite answers a segment count: the filter as Herald compiles it, under EXPLAIN QUERY PLAN.
 * (bench/contacts measures the counts through the public API only; the plans live here, where
 * importing the compiler is allowed.) Well-known fields are generated columns with
 * `(tenant_id, column)` indexes: a count on one is an index search, not a scan of the tenant.
 */
async function plan(filter: Filter): Promise<string> {
  const compiled = compileFilter(filter, { now: new Date("2026-06-01T00:00:00Z") });
  const { results } = await env.DB.prepare(
    `EXPLAIN QUERY PLAN SELECT count(*) FROM contacts WHERE tenant_id = ? AND ${compiled.sql}`,
  )
    .bind("ten_plan", ...compiled.params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail).join("; ");
}

describe("segment count plans", () => {
  it.each([
    [{ field: "city", op: "eq", value: "Austin" }, "contacts_tenant_city"],
    [{ field: "region", op: "in", value: ["TX", "FL"] }, "contacts_tenant_region"],
    [{ field: "income", op: "gte", value: 150_000 }, "contacts_tenant_income"],
    [{ field: "gender", op: "eq", value: "f" }, "contacts_tenant_gender"],
  ] as [Filter, string][])("%j searches %s", async (filter, index) => {
    expect(await plan(filter)).toMatch(new RegExp(`SEARCH contacts USING (COVERING )?INDEX ${index} `));
  });

  it("an un-indexed attribute is read row by row within the tenant (the bench's baseline)", async () => {
    const p = await plan({ field: "attributes.plan", op: "eq", value: "gold" });
    expect(p).not.toMatch(/INDEX contacts_tenant_(city|region|income|gender)/);
    expect(p).toMatch(/contacts/);
  });
});
