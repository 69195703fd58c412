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
    // Everything the page loads comes from this Worker (no CDN), and is there.
    const refs = [...docs.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith("/"), ref).toBe(true);
      const res = await call("GET", ref, { unchecked: true });
      expect(res.status, ref).toBe(200);
    }
    const js = await call("GET", "/docs/docs.js", { unchecked: true });
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(js.text).toContain("fetch(root.dataset.url)");
    expect(js.text).not.toMatch(/https?:\/\//);
  });
});
