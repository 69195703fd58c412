import { expect } from "vitest";
import { ADMIN_TOKEN, call } from "./api";
import { newTenant, type TestTenant } from "./tenant";

export interface AuthCase {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Path for the owner tenant; `{id}` segments are filled by `setup`. */
  path: (ctx: { owner: TestTenant }) => string | Promise<string>;
  /** The scope the route needs (a key with every other scope must get 403); absent = any valid key. */
  scope?: string;
  body?: unknown;
  /** True when the path names a resource of the owner: another tenant must get 404. */
  ownsResource?: boolean;
}

const ALL_SCOPES = [
  "contacts",
  "segments",
  "programs",
  "messages",
  "events",
  "carriers",
  "integrations",
  "webhooks",
  "keys",
].flatMap((r) => [`${r}:read`, `${r}:write`]);

/**
 * The security matrix every route must pass: no key → 401, malformed key → 401, revoked key → 401,
 * a key without the scope → 403, and (for resource paths) another tenant's key → 404.
 */
export async function expectAuthMatrix(c: AuthCase): Promise<void> {
  const owner = await newTenant();
  const path = await c.path({ owner });
  const req = (key: string | null) => call(c.method, path, { key, body: c.body });

  const none = await req(null);
  expect(none.status, `${c.method} ${path} without a key`).toBe(401);
  expect(none.headers.get("content-type")).toContain("application/problem+json");

  expect((await req("hk_live_notarealkeynotarealkeynotarealkeynotareal")).status, "unknown key").toBe(401);

  const revoked = await owner.keyWith(["*"]);
  const list = await owner.api.get<{ data: { id: string; prefix: string }[] }>("/v1/api-keys");
  const revokedId = list.body.data.find((k) => revoked.startsWith(k.prefix))?.id;
  expect(revokedId).toBeDefined();
  expect((await owner.api.del(`/v1/api-keys/${revokedId}`)).status).toBe(204);
  expect((await req(revoked)).status, "revoked key").toBe(401);

  const scope = c.scope;
  if (scope) {
    const others = ALL_SCOPES.filter((s) => s !== scope && s !== scope.replace(":read", ":write"));
    const forbidden = await req(await owner.keyWith(others));
    expect(forbidden.status, `key without ${scope}`).toBe(403);
  }

  if (c.ownsResource) {
    const stranger = await newTenant();
    const res = await call(c.method, path, { key: stranger.key, body: c.body });
    expect(res.status, "another tenant's id").toBe(404);
  }

  if (c.method === "POST" && scope) await expectNoReplayWithoutScope(owner, path, scope, c.body);
}

/** Every string leaf of a JSON value (ids, secrets, names…). */
const stringLeaves = (v: unknown): string[] =>
  typeof v === "string"
    ? [v]
    : v && typeof v === "object"
      ? Object.values(v as Record<string, unknown>).flatMap(stringLeaves)
      : [];

/**
 * Replay with a lower-scope key: a `*` key POSTs with Idempotency-Key K and succeeds; a key of the
 * same tenant without the route's scope then sends the very same request with K. It must get a 403
 * problem and nothing of the stored answer (the first answer may hold a secret shown once).
 */
async function expectNoReplayWithoutScope(owner: TestTenant, path: string, scope: string, body: unknown) {
  const k = `replay-${crypto.randomUUID()}`;
  const headers = { "Idempotency-Key": k };
  const first = await call("POST", path, { key: owner.key, body, headers });
  expect(first.status, `POST ${path} with a * key`).toBeLessThan(300);
  const lower = await owner.keyWith(
    ALL_SCOPES.filter((s) => s !== scope && s !== scope.replace(":read", ":write")),
  );
  const replay = await call("POST", path, { key: lower, body, headers });
  expect(replay.status, `POST ${path} replayed by a key without ${scope}`).toBe(403);
  expect(replay.headers.get("content-type")).toContain("application/problem+json");
  expect(replay.headers.get("Idempotent-Replayed")).toBeNull();
  // Short strings ("sandbox", "active") may appear in any problem text; ids and secrets may not.
  const leaked = stringLeaves(first.body).filter((v) => v.length >= 8 && replay.text.includes(v));
  expect(leaked, "stored answer leaked to a key without the scope").toEqual([]);
}

export interface AdminCase {
  method: "GET" | "POST" | "PATCH";
  /** Path of an operator route; `owner` is a fresh tenant whose own key is tried there too. */
  path: (ctx: { owner: TestTenant }) => string;
  body?: unknown;
  /** What the admin token gets for the same request (proves the case reaches the route). */
  adminStatus: number;
}

/**
 * The security matrix of an operator route (`/v1/tenants…`, ADMIN_TOKEN only): no token, a wrong
 * token, a tenant's own `*` key (on its own tenant's path) and a revoked key all get a 401 problem
 * (not 403: a tenant key is no credential for these routes at all); the admin token gets through.
 */
export async function expectAdminMatrix(c: AdminCase): Promise<void> {
  const owner = await newTenant();
  const path = c.path({ owner });
  const req = (key: string | null) => call(c.method, path, { key, body: c.body });
  const denied = async (key: string | null, what: string) => {
    const res = await req(key);
    expect(res.status, `${c.method} ${path} with ${what}`).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  };
  await denied(null, "no token");
  await denied(`${ADMIN_TOKEN}x`, "a wrong token");
  await denied(owner.key, "the tenant's own * key");
  const revoked = await owner.keyWith(["*"]);
  const list = await owner.api.get<{ data: { id: string; prefix: string }[] }>("/v1/api-keys");
  const revokedId = list.body.data.find((k) => revoked.startsWith(k.prefix))?.id;
  expect((await owner.api.del(`/v1/api-keys/${revokedId}`)).status).toBe(204);
  await denied(revoked, "a revoked tenant key");
  expect((await req(ADMIN_TOKEN)).status, `${c.method} ${path} with ADMIN_TOKEN`).toBe(c.adminStatus);
}
