import { describe, expect, it } from "vitest";
import { call } from "../helpers/api";
import { newTenant } from "../helpers/tenant";

const expectSecure = (h: Headers) => {
  expect(h.get("x-content-type-options")).toBe("nosniff");
  expect(h.get("x-frame-options")).toBe("DENY");
  expect(h.get("referrer-policy")).toBe("no-referrer");
  expect(h.get("strict-transport-security")).toContain("max-age=");
  expect(h.get("cross-origin-opener-policy")).toBe("same-origin");
  expect(h.get("content-security-policy")).toContain("frame-ancestors 'none'");
};

describe("secure headers (hono/secure-headers)", () => {
  it("on JSON and on problem+json answers, with a CSP that allows nothing", async () => {
    const t = await newTenant();
    const ok = await t.api.get("/v1/tenant");
    expect(ok.headers.get("content-type")).toContain("application/json");
    expectSecure(ok.headers);
    expect(ok.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const problem of [
      await call("GET", "/v1/tenant", { key: null }),
      await t.api.post("/v1/contacts", { phone: "nope" }),
      await call("GET", "/nowhere", { unchecked: true }),
    ]) {
      expect(problem.headers.get("content-type")).toBe("application/problem+json");
      expectSecure(problem.headers);
    }
    expectSecure((await call("GET", "/health")).headers);
  });

  it("on /docs, whose CSP admits its own script, style and /openapi.json and no other origin", async () => {
    const docs = await call("GET", "/docs", { unchecked: true });
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
    expectSecure(docs.headers);
    const csp = docs.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    // Its script and stylesheet are answered with the API's headers (nosniff: the type must be right).
    for (const asset of ["/docs/docs.js", "/docs/docs.css"]) {
      const res = await call("GET", asset, { unchecked: true });
      expect(res.status, asset).toBe(200);
      expectSecure(res.headers);
    }
  });
});
