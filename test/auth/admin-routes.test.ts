import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { type AdminCase, expectAdminMatrix } from "../helpers/auth-matrix";

/**
 * One admin-matrix case per operator route (security `adminToken`), keyed by method and documented
 * path: a new operator route must prove here that nothing but ADMIN_TOKEN reaches it.
 */
const CASES: Record<string, Omit<AdminCase, "method">> = {
  "POST /v1/tenants": { path: () => "/v1/tenants", body: { name: "Matrix" }, adminStatus: 201 },
  "GET /v1/tenants": { path: () => "/v1/tenants?limit=1", adminStatus: 200 },
  "GET /v1/tenants/{id}": { path: ({ owner }) => `/v1/tenants/${owner.id}`, adminStatus: 200 },
  "PATCH /v1/tenants/{id}": {
    path: ({ owner }) => `/v1/tenants/${owner.id}`,
    body: { mps: 5 },
    adminStatus: 200,
  },
};

const operatorRoutes = createApp()
  .openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []))
  .filter((r) => r.security?.some((s) => "adminToken" in s))
  .map((r) => ({ key: `${r.method.toUpperCase()} ${r.path}`, method: r.method.toUpperCase() }));

describe("every operator route (ADMIN_TOKEN)", () => {
  it("has an admin-matrix case, and every /v1/tenants route is an operator route", () => {
    expect(operatorRoutes.map((r) => r.key).sort()).toEqual(Object.keys(CASES).sort());
    const tenantsRoutes = createApp()
      .openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []))
      .filter((r) => r.path === "/v1/tenants" || r.path.startsWith("/v1/tenants/"));
    for (const r of tenantsRoutes) expect(r.security, `${r.method} ${r.path}`).toEqual([{ adminToken: [] }]);
  });

  for (const { key, method } of operatorRoutes) {
    const c = CASES[key];
    if (!c) continue;
    it(`${key} answers 401 to anything but ADMIN_TOKEN, a tenant's own key included`, async () => {
      await expectAdminMatrix({ method: method as AdminCase["method"], ...c });
    });
  }
});
