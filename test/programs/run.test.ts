import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import type { WorkJob } from "../../src/pipeline/jobs";
import { RUN_INLINE_PAGES, RUN_PAGE } from "../../src/services/programs/run";
import { dispatch, fakeTwilio, insertCarrier } from "../dispatch/fixtures";
import { newTenant } from "../helpers/tenant";

const NOON_NY = new Date("2026-06-10T16:00:00.000Z");

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

let n = 0;
const phone = () => `+1646555${String(1000 + n++).padStart(4, "0")}`;

interface Stats {
  messages: Record<string, number>;
  suppressed_by_reason: Record<string, number>;
  segments_sent: number;
}

describe("POST /v1/programs/{id}/run", () => {
  it("sends an audience of 10,000 contacts exactly once each", async () => {
    const t = await newTenant();
    for (let b = 0; b < 10; b++) {
      const contacts = Array.from({ length: 1000 }, (_, i) => ({
        phone: `+1303555${String(b * 1000 + i).padStart(4, "0")}`,
        first_name: `C${b * 1000 + i}`,
      }));
      const res = await t.api.post<{ created: number }>("/v1/contacts/batch", { contacts });
      expect(res.body.created).toBe(1000);
    }
    const p = await t.api.post<{ id: string }>("/v1/programs", {
      name: "Service notice",
      kind: "custom",
      category: "transactional",
      quiet_hours: "ignore",
      template: "Hi {{ contact.first_name }}, our store hours change on Monday.",
    });
    const run = await t.api.post<{ run_id: string; audience_count: number }>(`/v1/programs/${p.body.id}/run`);
    expect(run.status, run.text).toBe(202);
    expect(run.body.audience_count).toBe(10_000);
    // The first pages are written in the request; the work queue writes the rest from the run's cursor.
    const written = async () =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE program_id = ?")
          .bind(p.body.id)
          .first<{ n: number }>()
      )?.n ?? 0;
    expect(await written()).toBe(RUN_PAGE * RUN_INLINE_PAGES);
    const started = Date.now();
    for (;;) {
      const state = await env.DB.prepare("SELECT completed_at FROM program_runs WHERE id = ?")
        .bind(run.body.run_id)
        .first<{ completed_at: string | null }>();
      if (state?.completed_at) break;
      if (Date.now() - started > 150_000) throw new Error(`run not complete: ${await written()} written`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const row = await env.DB.prepare(
      `SELECT count(*) AS n, count(DISTINCT contact_id) AS contacts, count(DISTINCT "to") AS phones,
              sum(body = 'Hi C42, our store hours change on Monday.') AS c42
       FROM messages WHERE program_id = ?`,
    )
      .bind(p.body.id)
      .first<{ n: number; contacts: number; phones: number; c42: number }>();
    expect(row).toEqual({ n: 10_000, contacts: 10_000, phones: 10_000, c42: 1 });

    // A redelivered run job (queues are at-least-once) writes nothing more.
    const batch = createMessageBatch<WorkJob>("herald-work", [
      {
        id: "redelivered-run",
        timestamp: new Date(),
        attempts: 2,
        body: { kind: "run", runId: run.body.run_id },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await getQueueResult(batch, ctx);
    expect(await written()).toBe(10_000);
  }, 180_000);

  it("excludes unsubscribed contacts and honours the audience filter; 409 when not active", async () => {
    const t = await newTenant();
    await t.api.post("/v1/contacts", { phone: phone(), attributes: { city: "Austin" } });
    await t.api.post("/v1/contacts", { phone: phone(), attributes: { city: "Austin" }, subscribed: false });
    await t.api.post("/v1/contacts", { phone: phone(), attributes: { city: "Reno" } });
    const p = await t.api.post<{ id: string }>("/v1/programs", {
      name: "Austin",
      kind: "custom",
      audience: { filter: { field: "city", op: "eq", value: "Austin" } },
    });
    const run = await t.api.post<{ audience_count: number }>(`/v1/programs/${p.body.id}/run`);
    expect(run.body.audience_count).toBe(1);
    await t.api.patch(`/v1/programs/${p.body.id}`, { status: "paused" });
    expect((await t.api.post(`/v1/programs/${p.body.id}/run`)).status).toBe(409);
    expect((await t.api.post("/v1/programs/pg_nope/run")).status).toBe(404);
  });
});

describe("caps, content dedupe and stats", () => {
  it("the frequency cap suppresses the marketing message over the cap; stats count it", async () => {
    const t = await newTenant();
    const patched = await t.api.patch("/v1/tenant", { frequency_cap: { max_messages: 2, window_hours: 24 } });
    expect(patched.status, patched.text).toBe(200);
    await t.api.post("/v1/contacts", { phone: phone(), first_name: "Fay" });
    const ids: string[] = [];
    for (const offer of ["shoes", "hats", "socks"]) {
      const p = await t.api.post<{ id: string }>("/v1/programs", {
        name: offer,
        kind: "custom",
        template: `Hi {{ contact.first_name }}, new ${offer} are in.`,
      });
      ids.push(p.body.id);
      await t.api.post(`/v1/programs/${p.body.id}/run`);
    }
    const last = await t.api.get<Stats>(`/v1/programs/${ids[2]}/stats`);
    expect(last.status).toBe(200);
    expect(last.body.messages).toEqual({ suppressed: 1 });
    expect(last.body.suppressed_by_reason).toEqual({ frequency_cap: 1 });
  });

  it("two departments sending the same text: the second is suppressed as duplicate", async () => {
    const t = await newTenant();
    const c = await t.api.post<{ id: string }>("/v1/contacts", { phone: phone() });
    const mk = (department: string) =>
      t.api.post<{ id: string }>("/v1/programs", {
        name: `Outage ${department}`,
        kind: "custom",
        department,
        category: "transactional",
        trigger: { type: "event", event: "outage" },
        template: "Power is back on in your area. Thanks for your patience.",
      });
    const a = await mk("support");
    const b = await mk("operations");
    const res = await t.api.post<{ programs: { program_id: string; outcome: string }[] }>("/v1/events", {
      name: "outage",
      contact: { id: c.body.id },
    });
    const outcomes = res.body.programs.map((p) => p.outcome).sort();
    expect(outcomes).toEqual(["queued", "suppressed"]);
    const stats = await Promise.all([a, b].map((p) => t.api.get<Stats>(`/v1/programs/${p.body.id}/stats`)));
    const reasons = stats.map((s) => s.body.suppressed_by_reason.duplicate ?? 0);
    expect(reasons.sort()).toEqual([0, 1]);
  });

  it("end to end: the delay apology reaches Twilio personalised; segments_sent counts it", async () => {
    const t = await newTenant({ brand_name: "Acme Outfitters" });
    await insertCarrier(t.id, { from: ["+15005550006"] });
    const { calls } = fakeTwilio();
    const p = await t.api.post<{ id: string }>("/v1/programs", { name: "Delays", kind: "delivery_delay" });
    const to = phone();
    await t.api.post("/v1/contacts", { phone: to, first_name: "Rosa", timezone: "America/Los_Angeles" });
    const ev = await t.api.post<{ programs: { message_id: string }[] }>("/v1/events", {
      name: "order.delayed",
      contact: { phone: to },
      data: { order_name: "#1042", estimated_delivery_at: "2026-06-12T18:00:00Z" },
    });
    const id = ev.body.programs[0]?.message_id as string;
    await dispatch([id]);
    const call = calls.find((c) => c.form.get("To") === to);
    expect(call?.form.get("Body")).toBe(
      "Hi Rosa, we're sorry - your Acme Outfitters order #1042 is running late. It should now arrive Fri Jun 12. Thanks for your patience!",
    );
    const stats = await t.api.get<Stats>(`/v1/programs/${p.body.id}/stats`);
    expect(stats.body.messages.sent ?? stats.body.messages.delivered).toBe(1);
    expect(stats.body.segments_sent).toBe(1);
  });
});
