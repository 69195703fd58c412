import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dispatch, fakeTwilio, insertCarrier, message } from "../dispatch/fixtures";
import { newTenant, type TestTenant } from "../helpers/tenant";

const NOON_NY = new Date("2026-06-10T16:00:00.000Z");

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

type Problem = { status: number; detail: string; errors?: { path: string; message: string }[] };
interface Outcome {
  program_id: string;
  message_id: string;
  outcome: string;
}

let n = 0;
const phone = () => `+1646556${String(1000 + n++).padStart(4, "0")}`;

/** Loops that burn CPU, loops and captures that emit megabytes, file tags: never stored. */
const HOSTILE = [
  "{% for i in (1..3000000) %}{% endfor %}hi",
  "{% for i in (1..300) %}{% for j in (1..300) %}{% endfor %}{% endfor %}hi",
  "{% for i in (1..900) %}{% for j in (1..900) %}xxxxxxxxxx{% endfor %}{% endfor %}",
  "{%capture s%}x{%endcapture%}{% for i in (1..22) %}{%capture s%}{{s}}{{s}}{%endcapture%}{% endfor %}{{s}}",
  "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..22) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
  "{% liquid\nfor i in (1..1000000)\necho 'x'\nendfor %}",
  "{% for i in (1..1601) %}x{% endfor %}",
  "{% liquid render 'secrets' %}",
  "{% liquid include 'secrets' %}",
];

function expectTemplate422(res: { status: number; headers: Headers; body: unknown }, text: string) {
  expect(res.status, text).toBe(422);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect((res.body as Problem).errors?.[0]?.path, text).toBe("template");
}

async function contact(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api.post<{ id: string }>("/v1/contacts", body);
  expect([200, 201], r.text).toContain(r.status);
  return r.body.id;
}

describe("program templates at write", () => {
  it.each(HOSTILE)("refuses %s with 422 naming template, on create and on patch", async (template) => {
    const t = await newTenant();
    const created = await t.api.post("/v1/programs", { name: "Hostile", kind: "custom", template });
    expectTemplate422(created, created.text);
    const ok = await t.api.post<{ id: string }>("/v1/programs", { name: "Fine", kind: "custom" });
    expect(ok.status).toBe(201);
    const patched = await t.api.patch(`/v1/programs/${ok.body.id}`, { template });
    expectTemplate422(patched, patched.text);
  });
});

describe("a template that only blows up on real data", () => {
  it("fails that contact's message as failed/template_error, never calls the carrier, and the others go on", async () => {
    const t = await newTenant({ brand_name: "Acme" });
    await insertCarrier(t.id, { from: ["+15005550006"] });
    const { calls } = fakeTwilio();
    const template = "Hi {{ contact.first_name }}! {% for i in (1..event.n) %}x{% endfor %}";
    const p = await t.api.post<{ id: string }>("/v1/programs", {
      name: "Data bomb",
      kind: "delivery_delay",
      template,
    });
    expect(p.status, p.text).toBe(201);
    const cases = [
      { n: 3, status: "queued", error: null },
      { n: 3_000_000, status: "failed", error: /^the template exceeds Herald's limits: / },
      { n: 50_000, status: "failed", error: /^the template exceeds Herald's limits: / },
      {
        n: 1_700,
        status: "failed",
        error: /^the template renders to 1,7\d\d characters; a message is at most 1,600$/,
      },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const to = phone();
      await contact(t, { phone: to, first_name: "Rosa" });
      const ev = await t.api.post<{ programs: Outcome[] }>("/v1/events", {
        name: "order.delayed",
        contact: { phone: to },
        data: { n: c.n },
      });
      expect(ev.status, ev.text).toBe(202);
      expect(ev.body.programs[0]?.outcome).toBe(c.status);
      ids.push(ev.body.programs[0]?.message_id as string);
    }
    await dispatch(ids);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.form.get("Body")).toBe("Hi Rosa! xxx");
    for (const [i, c] of cases.entries()) {
      const m = await message(ids[i] as string);
      if (c.error === null) continue;
      expect(m).toMatchObject({ status: "failed", status_reason: "template_error", attempts: 0 });
      expect(m.error_message).toMatch(c.error);
      const got = await t.api.get<{ status_reason: string; error_message: string; body: string }>(
        `/v1/messages/${ids[i]}`,
      );
      expect(got.body).toMatchObject({ status_reason: "template_error", body: "" });
    }
    const stats = await t.api.get<{ messages: Record<string, number> }>(`/v1/programs/${p.body.id}/stats`);
    expect(stats.body.messages.failed).toBe(3);
  });

  it("the opt-out footer counts: a marketing body over 1,600 characters with it fails, /run goes on", async () => {
    const t = await newTenant();
    await insertCarrier(t.id, { from: ["+15005550006"] });
    const { calls } = fakeTwilio();
    const p = await t.api.post<{ id: string }>("/v1/programs", {
      name: "Promo",
      kind: "custom",
      category: "marketing",
      template: "{% for i in (1..contact.attributes.n) %}x{% endfor %}",
    });
    expect(p.status, p.text).toBe(201);
    const ok = phone();
    const tooLong = phone();
    const bomb = phone();
    await contact(t, { phone: ok, attributes: { n: 5 } });
    await contact(t, { phone: tooLong, attributes: { n: 1_590 } }); // 1,590 + " Reply STOP to opt out."
    const bombId = await contact(t, { phone: bomb, attributes: { n: 3_000_000 } });
    const run = await t.api.post<{ audience_count: number }>(`/v1/programs/${p.body.id}/run`);
    expect(run.status, run.text).toBe(202);
    const { results } = await env.DB.prepare(
      `SELECT id, "to", status, status_reason, error_message FROM messages WHERE program_id = ?`,
    )
      .bind(p.body.id)
      .all<{ id: string; to: string; status: string; status_reason: string | null; error_message: string }>();
    const byTo = new Map(results.map((r) => [r.to, r]));
    expect(byTo.get(ok)).toMatchObject({ status: "queued" });
    expect(byTo.get(tooLong)).toMatchObject({ status: "failed", status_reason: "template_error" });
    expect(byTo.get(tooLong)?.error_message).toMatch(/1,6\d\d characters \(opt-out footer included/);
    expect(byTo.get(bomb)).toMatchObject({ status: "failed", status_reason: "template_error" });
    await dispatch(results.map((r) => r.id));
    expect(calls.map((c) => c.form.get("To"))).toEqual([ok]);
    expect(calls[0]?.form.get("Body")).toBe("xxxxx Reply STOP to opt out.");
    // The preview says why instead of rendering a body it cannot send.
    const preview = await t.api.post(`/v1/programs/${p.body.id}/preview`, { contact_id: bombId });
    expectTemplate422(preview, preview.text);
  });
});
