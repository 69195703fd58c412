import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import devVarsExample from "../.dev.vars.example?raw";
import pkg from "../package.json";
import worker from "../src/index";
import wranglerJsonc from "../wrangler.jsonc?raw";
import { BASE } from "./helpers/api";
import { newTenant } from "./helpers/tenant";

/** wrangler.jsonc parsed: its comments are whole `//` lines, dropped with any trailing commas. */
function parseJsonc(text: string): { vars?: Record<string, unknown> } {
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, "").replace(/,(\s*[}\]])/g, "$1"));
}

describe("environment", () => {
  it("the committed wrangler.jsonc deploys production; a plain `wrangler deploy` is production", () => {
    expect(parseJsonc(wranglerJsonc).vars?.ENVIRONMENT).toBe("production");
    expect(pkg.scripts.deploy).toBe("wrangler deploy");
  });

  it("local development opts into development: npm run dev, npm start (its script), .dev.vars", () => {
    expect(pkg.scripts.dev).toContain("--var ENVIRONMENT:development");
    expect(pkg.scripts.start).toBe("node scripts/start.mjs");
    expect(devVarsExample).toMatch(/^ENVIRONMENT=development$/m);
    // Tests run in development too (vitest.config.ts overrides the committed var).
    expect(env.ENVIRONMENT).toBe("development");
  });
});

describe("production needs PUBLIC_BASE_URL", () => {
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }),
      { ...env, ENVIRONMENT: "production", PUBLIC_BASE_URL: "" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: res.status, body: (await res.json()) as { errors?: { path: string }[] } };
  };

  it("an integration without it is a 422 naming PUBLIC_BASE_URL, never a 5xx", async () => {
    const t = await newTenant();
    const res = await call(t.key, "POST", "/v1/integrations", { type: "standard" });
    expect(res.status).toBe(422);
    expect(res.body.errors?.[0]?.path).toBe("PUBLIC_BASE_URL");
    expect((await call(t.key, "GET", "/v1/integrations")).status).toBe(422);
  });

  it("a carrier without it is a 422 naming PUBLIC_BASE_URL", async () => {
    const t = await newTenant();
    const res = await call(t.key, "POST", "/v1/carriers", {
      provider: "twilio",
      credentials: { account_sid: "AC0123456789abcdef0123456789abcdef", auth_token: "f00d".repeat(8) },
      from: ["+15555550199"],
    });
    expect(res.status).toBe(422);
    expect(res.body.errors?.[0]?.path).toBe("PUBLIC_BASE_URL");
  });
});

describe("anything but development is production (fail closed)", () => {
  it.each(["production", "", "prod", "staging", "Development"])(
    "ENVIRONMENT=%j refuses a loopback http webhook URL",
    async (mode) => {
      const t = await newTenant();
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/v1/webhook-endpoints`, {
          method: "POST",
          headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
          body: JSON.stringify({ url: "http://127.0.0.1:9/h", events: ["message.sent"] }),
        }),
        { ...env, ENVIRONMENT: mode },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(422);
    },
  );
});
