import { describe, expect, it } from "vitest";
import { newTenant } from "../helpers/tenant";

type Problem = { errors?: { path: string; message: string }[] };
const PHONE = "+14155552671";
const FOOTER = " Reply STOP to opt out.";

const pathOf = (body: unknown) => (body as Problem).errors?.[0]?.path;

describe("POST /v1/messages: the 1,600-character body and the render limits", () => {
  it("a body of 1,600 characters is accepted; the marketing footer may not push it past 1,600", async () => {
    const t = await newTenant();
    const exact = await t.api.post("/v1/messages", { to: PHONE, body: "x".repeat(1_600) });
    expect(exact.status, exact.text).toBe(202);
    const withFooter = await t.api.post("/v1/messages", {
      to: PHONE,
      body: "y".repeat(1_600 - FOOTER.length),
      category: "marketing",
      quiet_hours: "ignore",
    });
    expect(withFooter.status, withFooter.text).toBe(202);
    expect((withFooter.body as { body: string }).body).toHaveLength(1_600);
    const over = await t.api.post("/v1/messages", {
      to: PHONE,
      body: "z".repeat(1_600 - FOOTER.length + 1),
      category: "marketing",
      quiet_hours: "ignore",
    });
    expect(over.status, over.text).toBe(422);
    expect(pathOf(over.body)).toBe("body");
    expect((over.body as Problem).errors?.[0]?.message).toMatch(/1,601 characters/);
  });

  it.each([
    ["a 3,000,000-step loop", "{% for i in (1..3000000) %}{% endfor %}hi"],
    [
      "capture doubling to 4 MB",
      "{%capture s%}x{%endcapture%}{% for i in (1..22) %}{%capture s%}{{s}}{{s}}{%endcapture%}{% endfor %}{{s}}",
    ],
    ["a loop past 1,600 characters", "{% for i in (1..1601) %}x{% endfor %}"],
    ["a data-dependent loop", "{% for i in (1..n) %}x{% endfor %}"],
    ["huge data printed", "{{ big }}"],
    ["a file tag inside liquid", "{% liquid include 'secrets' %}"],
    ["a render tag inside liquid", "{% liquid render 'secrets' %}"],
  ])("%s → 422 naming template, nothing written", async (_, template) => {
    const t = await newTenant();
    const res = await t.api.post("/v1/messages", {
      to: PHONE,
      template,
      data: { n: 3_000_000, big: "b".repeat(200_000) },
    });
    expect(res.status, res.text).toBe(422);
    expect(pathOf(res.body)).toBe("template");
    const list = await t.api.get<{ data: unknown[] }>("/v1/messages");
    expect(list.body.data).toHaveLength(0);
  });

  it("a marketing template whose body and footer pass 1,600 → 422 naming template", async () => {
    const t = await newTenant();
    const res = await t.api.post("/v1/messages", {
      to: PHONE,
      template: "{% for i in (1..n) %}x{% endfor %}",
      data: { n: 1_590 },
      category: "marketing",
      quiet_hours: "ignore",
    });
    expect(res.status, res.text).toBe(422);
    expect(pathOf(res.body)).toBe("template");
    const ok = await t.api.post("/v1/messages", {
      to: PHONE,
      template: "{% for i in (1..n) %}x{% endfor %}",
      data: { n: 1_577 },
      category: "marketing",
      quiet_hours: "ignore",
    });
    expect(ok.status, ok.text).toBe(202);
  });
});
