import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant, type TestTenant } from "../helpers/tenant";

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  status: string;
  disabled_reason: string | null;
  secret?: string;
}

const create = (t: TestTenant, body: unknown) => t.api.post<Endpoint>("/v1/webhook-endpoints", body);

describe("/v1/webhook-endpoints", () => {
  it("creates an endpoint with a whsec_ secret shown once", async () => {
    const t = await newTenant();
    const res = await create(t, {
      url: "https://example.com/hooks",
      events: ["message.delivered", "message.failed"],
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^whe_/);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect(res.body).toMatchObject({
      status: "enabled",
      disabled_reason: null,
      events: ["message.delivered", "message.failed"],
    });
    const got = await t.api.get<Endpoint>(`/v1/webhook-endpoints/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty("secret");
    expect(got.text).not.toContain(res.body.secret as string);
    const list = await t.api.get<{ data: Endpoint[] }>("/v1/webhook-endpoints");
    expect(list.body.data.map((e) => e.id)).toEqual([res.body.id]);
    expect(list.text).not.toContain(res.body.secret as string);
  });

  it("SSRF guard: http to a public host, private and odd URLs → 422 naming url; loopback http allowed in development", async () => {
    const t = await newTenant();
    for (const url of [
      "http://example.com/hooks",
      "ftp://example.com/x",
      "not a url",
      "http://10.0.0.5/x",
      "https://user:pw@example.com/",
    ]) {
      const res = await create(t, { url, events: ["message.sent"] });
      expect(res.status, url).toBe(422);
      expect((res.body as unknown as { errors: { path: string }[] }).errors[0]?.path).toBe("url");
    }
    expect((await create(t, { url: "http://127.0.0.1:9999/hooks", events: ["message.sent"] })).status).toBe(
      201,
    );
    expect((await create(t, { url: "http://localhost:9999/hooks", events: ["message.sent"] })).status).toBe(
      201,
    );
  });

  it("validates events: unknown type, empty list → 422; unknown field → 400", async () => {
    const t = await newTenant();
    expect((await create(t, { url: "https://example.com/h", events: ["order.delayed"] })).status).toBe(422);
    expect((await create(t, { url: "https://example.com/h", events: [] })).status).toBe(422);
    expect(
      (await create(t, { url: "https://example.com/h", events: ["message.sent"], secret: "x" })).status,
    ).toBe(400);
  });

  it("PATCH changes url and events and re-enables a disabled endpoint", async () => {
    const t = await newTenant();
    const { body } = await create(t, { url: "https://example.com/a", events: ["message.sent"] });
    const disabled = await t.api.patch<Endpoint>(`/v1/webhook-endpoints/${body.id}`, { status: "disabled" });
    expect(disabled.body).toMatchObject({ status: "disabled", disabled_reason: "Disabled through the API" });
    const res = await t.api.patch<Endpoint>(`/v1/webhook-endpoints/${body.id}`, {
      url: "https://example.com/b",
      events: ["contact.unsubscribed"],
      status: "enabled",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      url: "https://example.com/b",
      events: ["contact.unsubscribed"],
      status: "enabled",
      disabled_reason: null,
    });
    expect(
      (await t.api.patch(`/v1/webhook-endpoints/${body.id}`, { url: "http://example.com/" })).status,
    ).toBe(422);
    expect((await t.api.patch(`/v1/webhook-endpoints/${body.id}`, { colour: "red" })).status).toBe(400);
    expect((await t.api.patch("/v1/webhook-endpoints/whe_nope", { status: "enabled" })).status).toBe(404);
  });

  it("DELETE → 204, then 404; deliveries of a missing endpoint → 404", async () => {
    const t = await newTenant();
    const { body } = await create(t, { url: "https://example.com/a", events: ["message.sent"] });
    expect((await t.api.get(`/v1/webhook-endpoints/${body.id}/deliveries`)).status).toBe(200);
    expect((await t.api.del(`/v1/webhook-endpoints/${body.id}`)).status).toBe(204);
    expect((await t.api.get(`/v1/webhook-endpoints/${body.id}`)).status).toBe(404);
    expect((await t.api.del(`/v1/webhook-endpoints/${body.id}`)).status).toBe(404);
    expect((await t.api.get(`/v1/webhook-endpoints/${body.id}/deliveries`)).status).toBe(404);
    expect((await t.api.get("/v1/webhook-endpoints?limit=500")).status).toBe(422);
  });

  it("passes the auth matrix", async () => {
    const make =
      (suffix = "") =>
      async ({ owner }: { owner: TestTenant }) =>
        `/v1/webhook-endpoints/${(await create(owner, { url: "https://example.com/a", events: ["message.sent"] })).body.id}${suffix}`;
    const body = { url: "https://example.com/a", events: ["message.sent"] };
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/webhook-endpoints",
      scope: "webhooks:write",
      body,
    });
    await expectAuthMatrix({ method: "GET", path: () => "/v1/webhook-endpoints", scope: "webhooks:read" });
    await expectAuthMatrix({ method: "GET", path: make(), scope: "webhooks:read", ownsResource: true });
    await expectAuthMatrix({
      method: "PATCH",
      path: make(),
      scope: "webhooks:write",
      ownsResource: true,
      body: { events: ["message.failed"] },
    });
    await expectAuthMatrix({ method: "DELETE", path: make(), scope: "webhooks:write", ownsResource: true });
    await expectAuthMatrix({
      method: "GET",
      path: make("/deliveries"),
      scope: "webhooks:read",
      ownsResource: true,
    });
  });
});
