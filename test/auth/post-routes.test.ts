import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { type AuthCase, expectAuthMatrix } from "../helpers/auth-matrix";
import type { TestTenant } from "../helpers/tenant";

const PHONE = "+14155550143";

const program = async (owner: TestTenant) =>
  (await owner.api.post<{ id: string }>("/v1/programs", { name: "x", kind: "custom" })).body.id;

/**
 * One auth-matrix case per POST route under /v1, keyed by its documented path. The matrix includes
 * "replay with a lower-scope key", so this table is where a new POST route proves that its stored
 * idempotent answers never reach a key without its scope.
 */
const CASES: Record<string, Omit<AuthCase, "method">> = {
  "/v1/api-keys": { path: () => "/v1/api-keys", scope: "keys:write", body: { name: "k", scopes: ["*"] } },
  "/v1/contacts": { path: () => "/v1/contacts", scope: "contacts:write", body: { phone: PHONE } },
  "/v1/contacts/batch": {
    path: () => "/v1/contacts/batch",
    scope: "contacts:write",
    body: { contacts: [{ phone: PHONE }] },
  },
  "/v1/segments": {
    path: () => "/v1/segments",
    scope: "segments:write",
    body: { name: "s", filter: { field: "city", op: "eq", value: "Austin" } },
  },
  "/v1/segments/preview": {
    path: () => "/v1/segments/preview",
    scope: "segments:read",
    body: { filter: { field: "city", op: "eq", value: "Austin" } },
  },
  "/v1/messages": { path: () => "/v1/messages", scope: "messages:write", body: { to: PHONE, body: "Hi" } },
  "/v1/messages/batch": {
    path: () => "/v1/messages/batch",
    scope: "messages:write",
    body: { messages: [{ to: PHONE, body: "Hi" }] },
  },
  "/v1/messages/{id}/cancel": {
    path: async ({ owner }) => {
      const m = await owner.api.post<{ id: string }>("/v1/messages", {
        to: PHONE,
        body: "Later",
        send_at: "2030-01-01T00:00:00Z",
      });
      return `/v1/messages/${m.body.id}/cancel`;
    },
    scope: "messages:write",
    ownsResource: true,
  },
  "/v1/carriers": { path: () => "/v1/carriers", scope: "carriers:write", body: { provider: "sandbox" } },
  "/v1/integrations": {
    path: () => "/v1/integrations",
    scope: "integrations:write",
    body: { type: "standard" },
  },
  "/v1/webhook-endpoints": {
    path: () => "/v1/webhook-endpoints",
    scope: "webhooks:write",
    body: { url: "https://example.com/hook", events: ["message.sent"] },
  },
  "/v1/programs": {
    path: () => "/v1/programs",
    scope: "programs:write",
    body: { name: "x", kind: "custom" },
  },
  "/v1/programs/{id}/preview": {
    path: async ({ owner }) => `/v1/programs/${await program(owner)}/preview`,
    scope: "programs:read",
    body: {},
    ownsResource: true,
  },
  "/v1/programs/{id}/run": {
    path: async ({ owner }) => `/v1/programs/${await program(owner)}/run`,
    scope: "programs:write",
    ownsResource: true,
  },
  "/v1/events": {
    path: () => "/v1/events",
    scope: "events:write",
    body: { name: "x", contact: { phone: PHONE } },
  },
  "/v1/events/batch": {
    path: () => "/v1/events/batch",
    scope: "events:write",
    body: { events: [{ name: "x", contact: { phone: PHONE } }] },
  },
};

const postRoutes = createApp()
  .openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []))
  .filter((r) => r.method === "post" && r.path.startsWith("/v1/") && r.path !== "/v1/tenants")
  .map((r) => r.path);

describe("every POST under /v1", () => {
  it("has an auth-matrix case", () => {
    expect(postRoutes.filter((p) => !(p in CASES))).toEqual([]);
  });

  for (const path of postRoutes) {
    const c = CASES[path];
    if (!c) continue;
    it(`${path} passes the auth matrix, replay with a lower-scope key included`, async () => {
      await expectAuthMatrix({ method: "POST", ...c });
    });
  }
});
