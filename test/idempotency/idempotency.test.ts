import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { canonicalJson, requestFingerprint } from "../../src/middleware/idempotency";
import type { MessageView } from "../../src/routes/messages/schema";
import { ADMIN_TOKEN, call } from "../helpers/api";
import { newTenant } from "../helpers/tenant";

type Msg = MessageView;
type Problem = { errors?: { path: string }[] };
const PHONE = "+14155552671";
const key = (k: string) => ({ headers: { "Idempotency-Key": k } });

async function messageCount(api: Awaited<ReturnType<typeof newTenant>>["api"]): Promise<number> {
  const r = await api.get<{ data: Msg[] }>("/v1/messages?limit=200");
  return r.body.data.length;
}

async function seedKey(
  tenantId: string,
  k: string,
  fingerprint: string,
  row: { state: string; lockedUntil: string | null; createdAt: string; status?: number; body?: string },
) {
  await env.DB.prepare(
    `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, locked_until, response_status, response_body, response_content_type, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'application/json', ?)`,
  )
    .bind(
      tenantId,
      k,
      fingerprint,
      row.state,
      row.lockedUntil,
      row.status ?? null,
      row.body ?? null,
      row.createdAt,
    )
    .run();
}

describe("Idempotency-Key", () => {
  it("replays the first status and body for the same key and body, and does nothing new", async () => {
    const t = await newTenant();
    const body = { to: PHONE, body: "Your code is 1", send_at: "2030-01-01T00:00:00Z" };
    const first = await t.api.post<Msg>("/v1/messages", body, key("k-1"));
    expect(first.status).toBe(202);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    // same body, keys in another order
    const second = await t.api.post<Msg>(
      "/v1/messages",
      { send_at: "2030-01-01T00:00:00Z", body: "Your code is 1", to: PHONE },
      key("k-1"),
    );
    expect(second.status).toBe(202);
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.headers.get("content-type")).toContain("application/json");
    expect(second.body).toEqual(first.body);
    expect(await messageCount(t.api)).toBe(1);
  });

  it("422 naming Idempotency-Key when the key is reused with another body or path", async () => {
    const t = await newTenant();
    const first = await t.api.post<Msg>(
      "/v1/messages",
      { to: PHONE, body: "A", send_at: "2030-01-01T00:00:00Z" },
      key("k-2"),
    );
    expect(first.status).toBe(202);
    const other = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "B" }, key("k-2"));
    expect(other.status).toBe(422);
    expect(other.body.errors?.map((e) => e.path)).toEqual(["Idempotency-Key"]);
    const otherPath = await t.api.post<Problem>(
      `/v1/messages/${first.body.id}/cancel`,
      undefined,
      key("k-2"),
    );
    expect(otherPath.status).toBe(422);
    expect(await messageCount(t.api)).toBe(1);
  });

  it("409 while the first request is still in flight; an expired lock may be taken over", async () => {
    const t = await newTenant();
    const body = { to: PHONE, body: "Hi", send_at: "2030-01-01T00:00:00Z" };
    const fp = await requestFingerprint("POST", "/v1/messages", JSON.stringify(body), ["*"]);
    const now = Date.now();
    await seedKey(t.id, "busy", fp, {
      state: "in_flight",
      lockedUntil: new Date(now + 30_000).toISOString(),
      createdAt: new Date(now).toISOString(),
    });
    const busy = await t.api.post<Problem>("/v1/messages", body, key("busy"));
    expect(busy.status).toBe(409);
    expect(await messageCount(t.api)).toBe(0);

    await seedKey(t.id, "stale", fp, {
      state: "in_flight",
      lockedUntil: new Date(now - 1_000).toISOString(),
      createdAt: new Date(now - 120_000).toISOString(),
    });
    const retaken = await t.api.post<Msg>("/v1/messages", body, key("stale"));
    expect(retaken.status).toBe(202);
    const replay = await t.api.post<Msg>("/v1/messages", body, key("stale"));
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body.id).toBe(retaken.body.id);
  });

  it("concurrent requests with one key create one message", async () => {
    const t = await newTenant();
    const body = { to: PHONE, body: "Once", send_at: "2030-01-01T00:00:00Z" };
    const results = await Promise.all(
      [1, 2, 3].map(() => t.api.post<Msg>("/v1/messages", body, key("race"))),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    const ids = new Set(results.filter((r) => r.status === 202).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(await messageCount(t.api)).toBe(1);
  });

  it("does not store 422: the client may fix the body and retry with the same key", async () => {
    const t = await newTenant();
    const bad = await t.api.post<Problem>("/v1/messages", { to: "12345", body: "Hi" }, key("fix-me"));
    expect(bad.status).toBe(422);
    const fixed = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: "Hi" }, key("fix-me"));
    expect(fixed.status).toBe(202);
    expect(fixed.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("stores and replays 404 and 409 answers", async () => {
    const t = await newTenant();
    const nf = await t.api.post("/v1/messages/msg_nope/cancel", undefined, key("nf"));
    expect(nf.status).toBe(404);
    const nf2 = await t.api.post("/v1/messages/msg_nope/cancel", undefined, key("nf"));
    expect(nf2.status).toBe(404);
    expect(nf2.headers.get("Idempotent-Replayed")).toBe("true");
    expect(nf2.headers.get("content-type")).toContain("application/problem+json");
    expect(nf2.body).toEqual(nf.body);
  });

  it("scopes keys per tenant", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const body = { to: PHONE, body: "Same", send_at: "2030-01-01T00:00:00Z" };
    const ra = await a.api.post<Msg>("/v1/messages", body, key("shared"));
    const rb = await b.api.post<Msg>("/v1/messages", body, key("shared"));
    expect(ra.status).toBe(202);
    expect(rb.status).toBe(202);
    expect(rb.headers.get("Idempotent-Replayed")).toBeNull();
    expect(ra.body.id).not.toBe(rb.body.id);
  });

  it("forgets keys after 24 h", async () => {
    const t = await newTenant();
    const body = { to: PHONE, body: "Old", send_at: "2030-01-01T00:00:00Z" };
    const fp = await requestFingerprint("POST", "/v1/messages", JSON.stringify(body), ["*"]);
    await seedKey(t.id, "old", fp, {
      state: "done",
      lockedUntil: null,
      createdAt: new Date(Date.now() - 25 * 3_600_000).toISOString(),
      status: 202,
      body: "{}",
    });
    const r = await t.api.post<Msg>("/v1/messages", body, key("old"));
    expect(r.status).toBe(202);
    expect(r.headers.get("Idempotent-Replayed")).toBeNull();
    expect(r.body.id).toMatch(/^msg_/);
  });

  it("422 for an empty key or one longer than 255 characters", async () => {
    const t = await newTenant();
    const long = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi" }, key("k".repeat(256)));
    expect(long.status).toBe(422);
    expect(long.body.errors?.map((e) => e.path)).toEqual(["Idempotency-Key"]);
    const empty = await t.api.post<Problem>("/v1/messages", { to: PHONE, body: "Hi" }, key(""));
    expect(empty.status).toBe(422);
    expect(await messageCount(t.api)).toBe(0);
    const ok = await t.api.post<Msg>("/v1/messages", { to: PHONE, body: "Hi" }, key("k".repeat(255)));
    expect(ok.status).toBe(202);
  });

  it("applies to other POST routes, and not to POST /v1/tenants (no tenant to scope it)", async () => {
    const t = await newTenant();
    const k1 = await t.api.post<{ id: string }>("/v1/api-keys", { name: "ci" }, key("ak"));
    const k2 = await t.api.post<{ id: string }>("/v1/api-keys", { name: "ci" }, key("ak"));
    expect(k1.status).toBe(201);
    expect(k2.headers.get("Idempotent-Replayed")).toBe("true");
    expect(k2.body.id).toBe(k1.body.id);
    // the once-shown secret is replayed, but not kept in clear at rest
    const secret = (k1.body as { key?: string }).key ?? "";
    expect(secret).toMatch(/^hk_live_/);
    expect((k2.body as { key?: string }).key).toBe(secret);
    const stored = await env.DB.prepare(
      "SELECT response_body FROM idempotency_keys WHERE tenant_id = ? AND key = 'ak'",
    )
      .bind(t.id)
      .first<{ response_body: string }>();
    expect(stored?.response_body).toBeTruthy();
    expect(stored?.response_body).not.toContain(secret);
    const tenant = { name: "Twice" };
    const a = await call<{ tenant: { id: string } }>("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: tenant,
      ...key("t"),
    });
    const b = await call<{ tenant: { id: string } }>("POST", "/v1/tenants", {
      key: ADMIN_TOKEN,
      body: tenant,
      ...key("t"),
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.tenant.id).not.toBe(b.body.tenant.id);
  });

  it("every documented POST under /v1 honours the header (after its scope check)", async () => {
    const t = await newTenant();
    const posts = createApp()
      .openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []))
      .filter((r) => r.method === "post" && r.path.startsWith("/v1/") && r.path !== "/v1/tenants");
    expect(posts.length).toBeGreaterThan(10);
    for (const route of posts) {
      const path = route.path.replace(/\{[^}]+\}/g, "x_unknown");
      const res = await call<Problem>("POST", path, { key: t.key, body: {}, ...key("k".repeat(256)) });
      expect(res.status, `POST ${route.path}`).toBe(422);
      expect(
        res.body.errors?.map((e) => e.path),
        `POST ${route.path}`,
      ).toEqual(["Idempotency-Key"]);
    }
  });

  it("replays a stored answer only to a key with the same scopes: a lesser key never gets its secret", async () => {
    const t = await newTenant();
    const first = await t.api.post<{ key: string }>(
      "/v1/api-keys",
      { name: "deploy", scopes: ["*"] },
      key("dk"),
    );
    expect(first.status).toBe(201);
    // keys:write passes the scope check, but may not grant `*`: it must not obtain one by replay either.
    const writer = await t.keyWith(["keys:write"]);
    const replay = await call("POST", "/v1/api-keys", {
      key: writer,
      body: { name: "deploy", scopes: ["*"] },
      ...key("dk"),
    });
    expect(replay.status).toBe(422);
    expect(replay.text).not.toContain(first.body.key);
    // Another `*` key (a rotated one) is as privileged: it gets the replay.
    const rotated = await t.keyWith(["*"]);
    const again = await call<{ key: string }>("POST", "/v1/api-keys", {
      key: rotated,
      body: { name: "deploy", scopes: ["*"] },
      ...key("dk"),
    });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.key).toBe(first.body.key);
  });

  it("canonical JSON sorts keys at every level", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});
