import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DueBuild } from "../../src/pipeline/jobs";
import { serviceContext } from "../../src/services/context";
import { DUE_PAGE } from "../../src/services/programs/due";
import { continueDueBuild, DUE_INLINE_PAGES } from "../../src/services/programs/due-build";
import { newTenant, type TestTenant } from "../helpers/tenant";

/** `n` contacts with a billing due date, seeded straight into D1 (created long ago). */
async function seedBilled(t: TestTenant, n: number, prefix: string): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ?3 - 1)
     INSERT INTO contacts (id, tenant_id, phone, first_name, timezone, attributes, subscribed, marketing_opt_in,
       created_at, updated_at)
     SELECT printf('ct_%s%06d', ?2, i), ?1, printf('+1303%07d', i), 'C' || i, 'America/Denver',
       '{"billing_due_date":"2030-03-15"}', 1, 1, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z'
     FROM seq`,
  )
    .bind(t.id, prefix, n)
    .run();
}

const dueRows = async (programId: string): Promise<number> =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM program_due WHERE program_id = ?")
      .bind(programId)
      .first<{ n: number }>()
  )?.n ?? 0;

async function eventually(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("due rows of a program over many contacts", () => {
  it("are written for the first pages in the request and for the rest by the work queue", async () => {
    const t = await newTenant();
    const n = DUE_INLINE_PAGES * DUE_PAGE + 700;
    await seedBilled(t, n, "bulk");
    const p = await t.api.post<{ id: string }>("/v1/programs", { name: "Billing −3", kind: "billing" });
    expect(p.status, p.text).toBe(201);
    expect(await dueRows(p.body.id)).toBe(DUE_INLINE_PAGES * DUE_PAGE);
    await eventually(async () => (await dueRows(p.body.id)) === n);
    const row = await env.DB.prepare(
      "SELECT count(DISTINCT contact_id) AS contacts, min(occurrence) AS lo, max(occurrence) AS hi FROM program_due WHERE program_id = ?",
    )
      .bind(p.body.id)
      .first();
    expect(row).toEqual({ contacts: n, lo: "2030-03-12", hi: "2030-03-12" });
  }, 90_000);

  it("a build of a program that changed since writes nothing, and a repeated build keeps the rows it finds", async () => {
    const t = await newTenant();
    await seedBilled(t, 30, "stale");
    const p = await t.api.post<{ id: string; trigger: unknown; activated_at?: string }>("/v1/programs", {
      name: "Billing due",
      kind: "billing",
    });
    const program = await env.DB.prepare("SELECT trigger, activated_at FROM programs WHERE id = ?")
      .bind(p.body.id)
      .first<{ trigger: string; activated_at: string }>();
    const build: DueBuild = {
      tenantId: t.id,
      programId: p.body.id,
      trigger: program?.trigger ?? "",
      activatedAt: program?.activated_at ?? null,
      armedAt: new Date().toISOString(),
      now: Date.now(),
      after: "",
    };
    const ctx = serviceContext(env, t.id);
    // A contact re-armed since (its row is fresher than the build's): a repeated build keeps it.
    await env.DB.prepare("UPDATE program_due SET due_at = '2031-01-01T00:00:00.000Z' WHERE contact_id = ?")
      .bind(`ct_stale${"0".repeat(6)}`)
      .run();
    await continueDueBuild(ctx, build);
    expect(await dueRows(p.body.id)).toBe(30);
    const kept = await env.DB.prepare("SELECT due_at FROM program_due WHERE contact_id = ?")
      .bind(`ct_stale${"0".repeat(6)}`)
      .first<{ due_at: string }>();
    expect(kept?.due_at).toBe("2031-01-01T00:00:00.000Z");

    // Paused, then resumed: the old build's version is gone, it writes nothing.
    await t.api.patch(`/v1/programs/${p.body.id}`, { status: "paused" });
    expect(await dueRows(p.body.id)).toBe(0);
    await continueDueBuild(ctx, build);
    expect(await dueRows(p.body.id)).toBe(0);
    await t.api.patch(`/v1/programs/${p.body.id}`, { status: "active" });
    expect(await dueRows(p.body.id)).toBe(30);
    await env.DB.prepare("DELETE FROM program_due WHERE program_id = ?").bind(p.body.id).run();
    await continueDueBuild(ctx, build);
    expect(await dueRows(p.body.id)).toBe(0);
  });
});
