/**
 * Program work that spans several queue jobs keeps its cursor and a lease in D1 (PRODUCT.md:
 * acknowledged means durable): a `/run` larger than its inline part, and a due-row build larger
 * than its inline pages. When the continuation message is lost (accepted then dropped, or its send
 * failed), the scheduler tick resumes it once the lease ran out more than the grace: the run ends
 * `done` with every contact messaged exactly once, the build with every due row written (and each
 * contact sent its occurrence once).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LEASE_MS as LEASE_GRACE_MS } from "../../src/domain/rules/lease";
import { DUE_PAGE } from "../../src/services/programs/due";
import { DUE_INLINE_PAGES } from "../../src/services/programs/due-build";
import { RUN_INLINE_PAGES, RUN_PAGE } from "../../src/services/programs/run";
import { deliverWith, faultyEnv, fetchWith } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { apiRequest, DAY, MIN, NOON_NY, Platform } from "./helpers";

beforeEach(() => vi.useFakeTimers({ toFake: ["Date"] }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const RUN_AUDIENCE = RUN_PAGE * RUN_INLINE_PAGES + 150;
const BUILD_CONTACTS = DUE_PAGE * DUE_INLINE_PAGES + 300;

async function createContacts(t: TestTenant, n: number): Promise<void> {
  for (let b = 0; b * 1000 < n; b++) {
    const contacts = Array.from({ length: Math.min(1000, n - b * 1000) }, (_, i) => ({
      phone: `+1303556${String(b * 1000 + i).padStart(4, "0")}`,
      first_name: `C${b * 1000 + i}`,
    }));
    const res = await t.api.post<{ created: number }>("/v1/contacts/batch", { contacts });
    expect(res.status, res.text).toBe(200);
    expect(res.body.created).toBe(contacts.length);
  }
}

/** `n` contacts in New York whose `renewal` is `date`, seeded straight into D1 (created long ago). */
async function seedRenewals(t: TestTenant, n: number, prefix: string, date: string): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2 - 1)
     INSERT INTO contacts (id, tenant_id, phone, first_name, timezone, attributes, subscribed, marketing_opt_in,
       created_at, updated_at, created_fired_at)
     SELECT printf('ct_%s%06d', ?3, i), ?1, printf('+1212%07d', i), 'C' || i, 'America/New_York',
       json_object('renewal', ?4), 1, 1, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z',
       '2020-01-01T00:00:00.000Z'
     FROM seq`,
  )
    .bind(t.id, n, prefix, date)
    .run();
}

async function programMessages(programId: string) {
  return env.DB.prepare(
    "SELECT count(*) AS n, count(DISTINCT contact_id) AS contacts FROM messages WHERE program_id = ?",
  )
    .bind(programId)
    .first<{ n: number; contacts: number }>();
}

const dueRows = async (programId: string): Promise<number> =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM program_due WHERE program_id = ?")
      .bind(programId)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("a /run whose continuation is lost", () => {
  it("is resumed by the tick once its lease ran out: done, every contact messaged exactly once", async () => {
    const p = new Platform(faultyEnv(env, { capture: true }), NOON_NY);
    const t = await newTenant();
    await createContacts(t, RUN_AUDIENCE);
    const created = await fetchWith(
      p.f.env,
      apiRequest(t.key, "POST", "/v1/programs", {
        name: "Service notice",
        kind: "custom",
        category: "transactional",
        quiet_hours: "ignore",
        template: "Hi {{ contact.first_name }}, our store hours change on Monday.",
      }),
    );
    const programId = ((await created.json()) as { id: string }).id;
    const res = await fetchWith(p.f.env, apiRequest(t.key, "POST", `/v1/programs/${programId}/run`));
    expect(res.status).toBe(202);
    const { run_id } = (await res.json()) as { run_id: string };
    expect(await programMessages(programId)).toEqual({ n: 1000, contacts: 1000 });
    // The queue accepted the continuation, then lost it.
    const lost = p.f.takeCaptured("herald-work");
    expect(lost.map((m) => m.body)).toEqual([{ kind: "run", runId: run_id }]);

    // A tick inside the lease (+ grace) leaves the run alone; one past it resumes the run.
    await p.settle(1, 2 * MIN);
    expect(await programMessages(programId)).toEqual({ n: 1000, contacts: 1000 });
    await p.settle(2, 3 * MIN);
    expect(await programMessages(programId)).toEqual({ n: RUN_AUDIENCE, contacts: RUN_AUDIENCE });
    const run = await env.DB.prepare(
      "SELECT cursor, lease_until, completed_at IS NOT NULL AS done FROM program_runs WHERE id = ?",
    )
      .bind(run_id)
      .first();
    expect(run).toEqual({ cursor: null, lease_until: null, done: 1 });
    // Nothing is left to sweep: later ticks write nothing more.
    await p.settle(2, 6 * MIN);
    expect(await programMessages(programId)).toEqual({ n: RUN_AUDIENCE, contacts: RUN_AUDIENCE });
  }, 120_000);
});

describe("a dead-lettered run continuation", () => {
  it("ends the run's lease: the first tick past the grace resumes it, and it ends done", async () => {
    const p = new Platform(faultyEnv(env, { capture: true }), NOON_NY + 3 * DAY);
    const t = await newTenant();
    await createContacts(t, RUN_AUDIENCE);
    const created = await fetchWith(
      p.f.env,
      apiRequest(t.key, "POST", "/v1/programs", {
        name: "Notice",
        kind: "custom",
        category: "transactional",
        quiet_hours: "ignore",
        template: "Hi {{ contact.first_name }}, we moved.",
      }),
    );
    const programId = ((await created.json()) as { id: string }).id;
    const res = await fetchWith(p.f.env, apiRequest(t.key, "POST", `/v1/programs/${programId}/run`));
    const { run_id } = (await res.json()) as { run_id: string };
    const [job] = p.f.takeCaptured("herald-work");
    await deliverWith(p.f.env, "herald-work-dlq", [job?.body]);
    const lease = await env.DB.prepare("SELECT lease_until FROM program_runs WHERE id = ?")
      .bind(run_id)
      .first<{ lease_until: string }>();
    expect(Date.parse(lease?.lease_until ?? "")).toBeLessThanOrEqual(p.now);
    // One tick just past the grace (well inside the lease the run had) resumes it.
    await p.settle(1, LEASE_GRACE_MS + 1000);
    expect(await programMessages(programId)).toEqual({ n: RUN_AUDIENCE, contacts: RUN_AUDIENCE });
  }, 120_000);
});

describe("a due-row build whose continuation is lost", () => {
  const program = {
    name: "Renewal today",
    kind: "custom",
    category: "transactional",
    quiet_hours: "ignore",
    template: "Hi {{ contact.first_name }}, your plan renews today.",
    trigger: { type: "date", field: "attributes.renewal", offset_days: 0, at: "15:00" },
  };

  // Each case on a later day than the tests before it: the scheduler's last tick (shared by this
  // file's tests) is behind it.
  for (const [name, prefix, day, fault] of [
    ["accepted by the queue, then lost", "lost", 4, { capture: true }],
    [
      "whose send failed (the program still answers 201)",
      "failed",
      5,
      { capture: true, target: "WORK_QUEUE", nth: 1 },
    ],
  ] as const) {
    it(`${name}: resumed by the tick, every due row written, each contact sent once`, async () => {
      const start = NOON_NY + day * DAY;
      const date = new Date(start).toISOString().slice(0, 10);
      const p = new Platform(faultyEnv(env, fault), start);
      const t = await newTenant();
      await seedRenewals(t, BUILD_CONTACTS, prefix, date);
      const res = await fetchWith(p.f.env, apiRequest(t.key, "POST", "/v1/programs", program));
      expect(res.status).toBe(201);
      if ("nth" in fault) expect(p.f.fired?.target).toBe("WORK_QUEUE");
      const { id } = (await res.json()) as { id: string };
      expect(await dueRows(id)).toBe(DUE_PAGE * DUE_INLINE_PAGES);
      p.f.takeCaptured("herald-work");

      await p.settle(1, 2 * MIN);
      expect(await dueRows(id)).toBe(DUE_PAGE * DUE_INLINE_PAGES);
      await p.settle(2, 3 * MIN);
      expect(await dueRows(id)).toBe(BUILD_CONTACTS);

      // 15:00 in New York: every contact's occurrence is sent once.
      p.advance(Date.parse(`${date}T20:01:00.000Z`) - p.now);
      await p.settle(2, MIN);
      expect(await programMessages(id)).toEqual({ n: BUILD_CONTACTS, contacts: BUILD_CONTACTS });
    }, 120_000);
  }
});
