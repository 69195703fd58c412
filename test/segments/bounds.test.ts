import { describe, expect, it } from "vitest";
import { call } from "../helpers/api";
import { newTenant } from "../helpers/tenant";
import { hookDeliveries, postStandard, standardIntegration } from "../hooks/helpers";

interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

const cond = { field: "city", op: "eq", value: "Austin" };
/** `{not: {not: … cond}}`, `n` filter levels (the condition is one): 1 JSON level per `not`. */
const nots = (n: number): string => `${'{"not":'.repeat(n - 1)}${JSON.stringify(cond)}${"}".repeat(n - 1)}`;
const paths = (p: Problem) => p.errors?.map((e) => e.path);

describe("input bounds (PRODUCT.md)", () => {
  it("a 20,000-deep filter is a 400 naming the body, not a 500 (the depth is found before parsing)", async () => {
    const t = await newTenant();
    for (const [path, raw] of [
      ["/v1/segments", `{"name":"deep","filter":${nots(20_000)}}`],
      ["/v1/segments/preview", `{"filter":${nots(20_000)}}`],
      ["/v1/programs", `{"name":"p","kind":"custom","audience":{"filter":${nots(20_000)}}}`],
    ] as const) {
      const res = await call<Problem>("POST", path, {
        key: t.key,
        rawBody: raw,
        headers: { "content-type": "application/json", "Idempotency-Key": `deep-${path}` },
      });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(paths(res.body)).toEqual(["(body)"]);
    }
    expect((await t.api.get<{ data: unknown[] }>("/v1/segments")).body.data).toEqual([]);
  });

  it("a megabyte of [[[[ and 33 levels of anything are 400; 32 levels are parsed", async () => {
    const t = await newTenant();
    const post = (rawBody: string) =>
      call<Problem>("POST", "/v1/contacts", {
        key: t.key,
        rawBody,
        headers: { "content-type": "application/json" },
      });
    expect((await post("[".repeat(1_000_000))).status).toBe(400);
    const attrs = (levels: number) =>
      `{"phone":"+15125550142","attributes":{"a":${"[".repeat(levels - 2)}${"]".repeat(levels - 2)}}}`;
    const over = await post(attrs(33));
    expect(over.status).toBe(400);
    expect(paths(over.body)).toEqual(["(body)"]);
    // 32 levels pass the scan and reach validation (attributes are flat: 422 naming the attribute).
    const at = await post(attrs(32));
    expect(at.status).toBe(422);
    expect(paths(at.body)?.[0]).toMatch(/^attributes/);
  });

  it("a filter deeper than 16 or with more than 500 conditions is a 422 naming filter", async () => {
    const t = await newTenant();
    const seg = (filter: string) =>
      call<Problem>("POST", "/v1/segments", {
        key: t.key,
        rawBody: `{"name":"s","filter":${filter}}`,
        headers: { "content-type": "application/json" },
      });
    expect((await seg(nots(16))).status).toBe(201);
    const deep = await seg(nots(17));
    expect(deep.status).toBe(422);
    expect(paths(deep.body)).toEqual(["filter"]);

    const wide = (n: number) => JSON.stringify({ any: Array.from({ length: n }, () => cond) });
    expect((await seg(wide(500))).status).toBe(201);
    const tooWide = await seg(wide(501));
    expect(tooWide.status).toBe(422);
    expect(paths(tooWide.body)?.[0]).toMatch(/^filter/);
    // 501 conditions spread over groups count too.
    const spread = JSON.stringify({ all: [JSON.parse(wide(300)), JSON.parse(wide(201))] });
    const spreadRes = await seg(spread);
    expect(spreadRes.status).toBe(422);
    expect(paths(spreadRes.body)).toEqual(["filter"]);

    const preview = await t.api.post<Problem>("/v1/segments/preview", { filter: JSON.parse(nots(17)) });
    expect(preview.status).toBe(422);
    expect(paths(preview.body)).toEqual(["filter"]);
    const program = await t.api.post<Problem>("/v1/programs", {
      name: "p",
      kind: "custom",
      audience: { filter: JSON.parse(nots(17)) },
    });
    expect(program.status).toBe(422);
    expect(paths(program.body)?.some((p) => p.startsWith("audience"))).toBe(true);
  });

  it("a deep body on a storefront hook is a 400, and nothing is stored", async () => {
    const t = await newTenant();
    const integration = await standardIntegration(t);
    const raw = `{"name":"order.delayed","contact":{"phone":"+15125550142"},"data":{"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`;
    const res = await postStandard(integration.id, integration.secret, null, { rawBody: raw });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await hookDeliveries(integration.id)).toEqual([]);
  });
});
