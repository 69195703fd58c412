import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant } from "../helpers/tenant";
import { SHOPIFY_SECRET } from "./helpers";

describe("/v1/integrations", () => {
  it("creates a shopify integration: webhook_url, secret write-only and encrypted at rest", async () => {
    const t = await newTenant();
    const res = await t.api.post<Record<string, unknown>>("/v1/integrations", {
      type: "shopify",
      shop_domain: "My-Shop.myshopify.com",
      webhook_secret: SHOPIFY_SECRET,
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^int_/);
    expect(res.body.type).toBe("shopify");
    expect(res.body.shop_domain).toBe("my-shop.myshopify.com");
    expect(res.body.webhook_url).toBe(`https://herald.test/hooks/${res.body.id}`);
    expect(res.body).not.toHaveProperty("secret");
    expect(res.body).not.toHaveProperty("webhook_secret");
    expect(res.text).not.toContain(SHOPIFY_SECRET);

    const stored = await env.DB.prepare("SELECT secret_sealed FROM integrations WHERE id = ?")
      .bind(res.body.id)
      .first<{ secret_sealed: string }>();
    expect(stored?.secret_sealed).toMatch(/^v1\./);
    expect(stored?.secret_sealed).not.toContain(SHOPIFY_SECRET);

    const got = await t.api.get<Record<string, unknown>>(`/v1/integrations/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(SHOPIFY_SECRET);
    expect(got.body.webhook_url).toBe(res.body.webhook_url);
  });

  it("creates a standard integration whose whsec_ secret is shown once", async () => {
    const t = await newTenant();
    const res = await t.api.post<{ id: string; secret: string }>("/v1/integrations", { type: "standard" });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const got = await t.api.get(`/v1/integrations/${res.body.id}`);
    expect(got.text).not.toContain(res.body.secret);
    const list = await t.api.get<{ data: { id: string }[] }>("/v1/integrations");
    expect(list.text).not.toContain(res.body.secret);
    expect(list.body.data.map((i) => i.id)).toEqual([res.body.id]);
  });

  it("lists newest first with a cursor", async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await t.api.post<{ id: string }>("/v1/integrations", { type: "standard" })).body.id);
    const p1 = await t.api.get<{ data: { id: string }[]; next_cursor: string }>("/v1/integrations?limit=2");
    expect(p1.body.data.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    const p2 = await t.api.get<{ data: { id: string }[]; next_cursor: null }>(
      `/v1/integrations?limit=2&cursor=${p1.body.next_cursor}`,
    );
    expect(p2.body.data.map((d) => d.id)).toEqual([ids[0]]);
    expect(p2.body.next_cursor).toBeNull();
    expect((await t.api.get("/v1/integrations?limit=0")).status).toBe(422);
  });

  it("validates: unknown type 422, missing secret 422, unknown field 400, wrong content type 415", async () => {
    const t = await newTenant();
    expect((await t.api.post("/v1/integrations", { type: "woocommerce" })).status).toBe(422);
    const missing = await t.api.post<{ errors: { path: string }[] }>("/v1/integrations", {
      type: "shopify",
      shop_domain: "x.myshopify.com",
    });
    expect(missing.status).toBe(422);
    expect(missing.body.errors.map((e) => e.path)).toContain("webhook_secret");
    expect((await t.api.post("/v1/integrations", { type: "standard", secret: "x" })).status).toBe(400);
    expect(
      (
        await t.api.post("/v1/integrations", undefined, {
          rawBody: "type=standard",
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(415);
  });

  it("deletes: 204, then 404 for the integration and its hook URL", async () => {
    const t = await newTenant();
    const { body } = await t.api.post<{ id: string }>("/v1/integrations", { type: "standard" });
    expect((await t.api.del(`/v1/integrations/${body.id}`)).status).toBe(204);
    expect((await t.api.get(`/v1/integrations/${body.id}`)).status).toBe(404);
    expect((await t.api.del(`/v1/integrations/${body.id}`)).status).toBe(404);
  });

  it("passes the auth matrix", async () => {
    const make = async ({ owner }: { owner: Awaited<ReturnType<typeof newTenant>> }) =>
      `/v1/integrations/${(await owner.api.post<{ id: string }>("/v1/integrations", { type: "standard" })).body.id}`;
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/integrations",
      scope: "integrations:write",
      body: { type: "standard" },
    });
    await expectAuthMatrix({ method: "GET", path: () => "/v1/integrations", scope: "integrations:read" });
    await expectAuthMatrix({ method: "GET", path: make, scope: "integrations:read", ownsResource: true });
    await expectAuthMatrix({ method: "DELETE", path: make, scope: "integrations:write", ownsResource: true });
  });
});
