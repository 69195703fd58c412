/**
 * Issue 11, item 7: the tick selects what is due and hands it to the work queue in pages
 * (`program_occurrence_pages` rows, one `occurrences` job each); the work consumer creates the
 * messages. The tick writes no message itself; a page is created once however often its job runs;
 * a lost job, or a consumer killed mid-page, is recovered by the tick's sweep once the lease ran out.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WorkJob } from "../../src/pipeline/jobs";
import { faultyEnv } from "../helpers/faults";
import { newTenant } from "../helpers/tenant";
import { at, createProgram, deliverWork, messagesOf, resetScheduler, tick } from "./helpers";

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  await resetScheduler();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const DUE = 250;
let seeded = 0;

/**
 * A birthday program and `DUE` contacts, seeded straight into D1 (created long ago), born on a day
 * of June of their own (each test its own day, so no test's birthdays fall due in another's ticks);
 * `time("10:00")` is that day's instant, and the scheduler's last tick is the minute before 10:00.
 */
async function birthdays(): Promise<{
  tenantId: string;
  programId: string;
  time: (hhmmss: string) => string;
  own: (jobs: WorkJob[]) => WorkJob[];
}> {
  const day = `2026-06-${String(10 + seeded).padStart(2, "0")}`;
  at("2026-01-01T00:00:00.000Z");
  const t = await newTenant({ timezone: "UTC" });
  const programId = await createProgram(t, {
    name: "Birthdays",
    kind: "birthday",
    quiet_hours: "ignore",
    template: "Happy birthday {{ contact.first_name }}!",
  });
  const prefix = `op${seeded++}`;
  await env.DB.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2 - 1)
     INSERT INTO contacts (id, tenant_id, phone, first_name, timezone, birthday, attributes, subscribed,
       marketing_opt_in, created_at, updated_at)
     SELECT printf('ct_%s%06d', ?3, i), ?1, printf('+1720%03d%04d', ?4, i), 'C' || i, 'UTC', ?5,
       '{}', 1, 1, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z'
     FROM seq`,
  )
    .bind(t.id, DUE, prefix, 500 + seeded, `1990${day.slice(4)}`)
    .run();
  const time = (hhmmss: string) => `${day}T${hhmmss}.000Z`;
  await resetScheduler(time("09:59:00"));
  // Pages another test left behind may be swept during this one: only this tenant's count.
  const own = (jobs: WorkJob[]) => jobs.filter((j) => j.kind === "occurrences" && j.tenantId === t.id);
  return { tenantId: t.id, programId, time, own };
}

const pageRows = async (programId: string) =>
  (
    await env.DB.prepare("SELECT items, lease_until FROM program_occurrence_pages WHERE program_id = ?")
      .bind(programId)
      .all<{ items: string; lease_until: string }>()
  ).results;

/** The program's messages: how many, and how many distinct occurrences. */
async function created(programId: string) {
  const rows = await messagesOf(programId);
  return { n: rows.length, occurrences: new Set(rows.map((m) => m.occurrence_key)).size };
}

describe("the tick hands due occurrences to the work queue", () => {
  it("writes no message itself: ceil(N / 100) pages, each job creating its page's messages once", async () => {
    const { programId, time } = await birthdays();
    const lines: { due: number; pages: number }[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string" && line.includes('"scheduler tick"')) lines.push(JSON.parse(line));
    });
    const jobs = await tick(time("10:00:00"), { drain: false });
    spy.mockRestore();
    expect(await messagesOf(programId)).toEqual([]);
    expect(jobs).toHaveLength(Math.ceil(DUE / 100));
    expect(jobs.every((j) => j.kind === "occurrences")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ due: DUE, pages: Math.ceil(DUE / 100) });
    const pages = await pageRows(programId);
    expect(pages.map((p) => JSON.parse(p.items).length).sort()).toEqual([100, 100, 50]);
    // Each queue message well under the 128 KB limit: it carries the page's id, not its items.
    for (const j of jobs) expect(JSON.stringify(j).length).toBeLessThan(200);

    // Every job twice in one batch (a redelivery racing the first): each occurrence created once.
    const result = await deliverWork([...jobs, ...jobs]);
    expect(result.outcome).toBe("ok");
    expect(result.retryMessages).toEqual([]);
    expect(await created(programId)).toEqual({ n: DUE, occurrences: DUE });
    expect(await pageRows(programId)).toEqual([]);
    expect((await messagesOf(programId))[0]?.body).toMatch(/^Happy birthday C\d+!/);

    // Delivered once more, later: nothing new.
    await deliverWork(jobs);
    expect(await created(programId)).toEqual({ n: DUE, occurrences: DUE });
  });

  it("a page whose job was lost is rung again by the sweep once its lease ran out", async () => {
    const { programId, time, own } = await birthdays();
    const lost = own(await tick(time("10:00:00"), { drain: false }));
    expect(lost).toHaveLength(3);
    // Within the lease the sweep leaves the pages alone (their doorbell may still ring).
    expect(own(await tick(time("10:01:00")))).toEqual([]);
    expect(await messagesOf(programId)).toEqual([]);
    const rung = own(await tick(time("10:03:00")));
    expect(rung.map((j) => j.kind === "occurrences" && j.pageId).sort()).toEqual(
      lost.map((j) => j.kind === "occurrences" && j.pageId).sort(),
    );
    expect(await created(programId)).toEqual({ n: DUE, occurrences: DUE });
    expect(await pageRows(programId)).toEqual([]);
  });

  for (const [where, match] of [
    ["before its messages are written", (s: string) => s.includes("INSERT INTO messages")],
    [
      "after its messages, before the page is deleted",
      (s: string) => /delete from "program_occurrence_pages"/i.test(s),
    ],
  ] as const)
    it(`a consumer killed mid-page (${where}) loses nothing and duplicates nothing`, async () => {
      const { programId, time, own } = await birthdays();
      const jobs = own(await tick(time("10:00:00"), { drain: false }));
      expect(jobs).toHaveLength(3);
      const f = faultyEnv(env, { nth: 1, mode: "hang", match });
      // The invocation is abandoned, never awaited: stuck for good, as a killed one is gone.
      void deliverWork(jobs.slice(0, 1), f.env);
      for (let i = 0; i < 500 && !f.fired; i++) await new Promise((r) => setTimeout(r, 10));
      expect(f.fired).not.toBeNull();
      await deliverWork(jobs.slice(1));
      const partial = await created(programId);
      expect(partial.n).toBe(partial.occurrences);
      expect(await pageRows(programId)).toHaveLength(1);
      // The killed consumer's lease (2 min) and then the sweep's grace (2 min) run out.
      expect(own(await tick(time("10:03:00")))).toEqual([]);
      const rung = own(await tick(time("10:04:30")));
      expect(rung).toHaveLength(1);
      expect(await created(programId)).toEqual({ n: DUE, occurrences: DUE });
      expect(await pageRows(programId)).toEqual([]);
    });
});
