import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { iso } from "../../src/lib/time";
import { insertMessage, message } from "../dispatch/fixtures";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { at, createContact, createProgram, messagesOf, phone, resetScheduler, tick } from "./helpers";

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  await resetScheduler();
});
afterEach(() => {
  vi.useRealTimers();
});

const EVERY_MINUTE = { type: "schedule", cron: "* * * * *", timezone: "UTC" };

async function everyMinute(t: TestTenant, name: string, template: string): Promise<string> {
  return createProgram(t, { name, kind: "custom", trigger: EVERY_MINUTE, quiet_hours: "ignore", template });
}

async function lastTick(): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT value FROM system_state WHERE key = 'scheduler.last_tick'").first<{
    value: string;
  }>();
  return row?.value;
}

async function owes(programId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT value FROM system_state WHERE key = ?")
    .bind(`scheduler.owed.${programId}`)
    .first<{ value: string }>();
  return row?.value;
}

describe("one tenant's programs never stall another's", () => {
  // Without the broken row the test shows the template limits and the per-program isolation; with it,
  // that the recovery sweep and other tenants never depend on the program work succeeding.
  it.each([
    ["hostile templates and a data bomb", false],
    ["hostile templates, a data bomb and a program row that does not load", true],
  ])("%s: B sends every tick, the window advances, the sweep runs", async (_, broken) => {
    at("2026-06-10T09:58:30.000Z");
    // Tenant A: a hostile template stored before the write-time trial render existed (written
    // straight into D1: the API refuses it now), and a template that only blows up on A's data.
    const a = await newTenant();
    const hostile = await everyMinute(a, "Hostile", "Hi");
    await env.DB.prepare("UPDATE programs SET template = ? WHERE id = ?")
      .bind("{% for i in (1..3000000) %}{% endfor %}hi", hostile)
      .run();
    const bomb = await everyMinute(a, "Data bomb", "{% for i in (1..contact.attributes.n) %}x{% endfor %}");
    await createContact(a, { phone: phone(), timezone: "UTC", attributes: { n: 3_000_000 } });
    // Tenant C: a program row that does not load at all (its trigger is not JSON; written straight
    // into D1 to stand for a corrupt or pre-migration row). Its birthday falls due while it is broken.
    const c = await newTenant();
    const birthdays = await createProgram(c, { name: "Birthdays", kind: "birthday" });
    await createContact(c, { phone: phone(), first_name: "Cleo", timezone: "UTC", birthday: "1990-06-10" });
    const trigger = await env.DB.prepare("SELECT trigger FROM programs WHERE id = ?")
      .bind(birthdays)
      .first<{ trigger: string }>();
    if (broken)
      await env.DB.prepare("UPDATE programs SET trigger = '{not json' WHERE id = ?").bind(birthdays).run();
    // Tenant B: an ordinary every-minute program, and a queued message whose queue message was lost.
    const b = await newTenant();
    const good = await everyMinute(b, "Every minute", "Tick for {{ contact.first_name }}");
    await createContact(b, { phone: phone(), first_name: "Bea", timezone: "UTC" });
    at("2026-06-10T09:59:00.000Z");
    const lost = await insertMessage(b.id, { nextAttemptAt: "2026-06-10T09:55:00.000Z" });
    await resetScheduler("2026-06-10T09:59:00.000Z");

    const ticks = ["2026-06-10T10:00:00.000Z", "2026-06-10T10:01:00.000Z"];
    for (const [i, time] of ticks.entries()) {
      await tick(time);
      // B's program sent on this tick, and the shared window moved to it.
      const sent = await messagesOf(good);
      expect(sent).toHaveLength(i + 1);
      expect(sent.at(-1)).toMatchObject({
        body: "Tick for Bea Reply STOP to opt out.",
        occurrence_key: expect.stringContaining(time),
      });
      expect(sent.every((m) => m.status !== "failed")).toBe(true);
      expect(await lastTick()).toBe(time);
      // A's occurrences are recorded once each, as failed / template_error, never sent.
      for (const pg of [hostile, bomb]) {
        const rows = await messagesOf(pg);
        expect(rows).toHaveLength(i + 1);
        expect(rows.every((r) => r.status === "failed" && r.status_reason === "template_error")).toBe(true);
      }
      // A broken C program is skipped and owes its window from the last good tick.
      expect(await messagesOf(birthdays)).toHaveLength(broken ? 0 : 1);
      expect(await owes(birthdays)).toBe(broken ? "2026-06-10T09:59:00.000Z" : undefined);
    }
    // The outbox recovery sweep re-rang B's lost message on the first tick, whatever the programs did.
    const m = await message(lost);
    expect(m.status !== "queued" || m.next_attempt_at === ticks[0], JSON.stringify(m)).toBe(true);
    expect(m.next_attempt_at).not.toBe("2026-06-10T09:55:00.000Z");

    const errors = await env.DB.prepare(
      "SELECT DISTINCT error_message FROM messages WHERE program_id IN (?, ?)",
    )
      .bind(hostile, bomb)
      .all<{ error_message: string }>();
    for (const r of errors.results)
      expect(r.error_message).toMatch(/^the template exceeds Herald's limits: /);

    // Once C's row loads again, its owed window still holds the birthday that fell due at 10:00.
    await env.DB.prepare("UPDATE programs SET trigger = ? WHERE id = ?")
      .bind(trigger?.trigger, birthdays)
      .run();
    await tick("2026-06-10T10:02:00.000Z");
    const cleo = await messagesOf(birthdays);
    expect(cleo).toHaveLength(1);
    expect(cleo[0]?.body).toMatch(/^Happy birthday, Cleo!/);
    expect(await owes(birthdays)).toBeUndefined();
    expect(await lastTick()).toBe(iso(Date.parse("2026-06-10T10:02:00.000Z")));
    expect(await messagesOf(good)).toHaveLength(3);
  });
});
