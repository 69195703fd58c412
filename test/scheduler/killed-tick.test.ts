/**
 * A tick killed inside one tenant's program — the Workers CPU limit hit by a heavy template over a
 * large audience, or a crash — must not hold anyone else (issue 9, defect 2). The kill is a D1 call
 * of that program that never answers (`faultyEnv` mode "hang", on the real binding): nothing after
 * it in that invocation runs, exactly as when the runtime ends it.
 */
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { faultyEnv } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";
import {
  at,
  createContact,
  createProgram,
  deliverWork,
  messagesOf,
  pageCapture,
  phone,
  resetScheduler,
  tick,
} from "./helpers";

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  await resetScheduler();
});
afterEach(() => vi.useRealTimers());

const EVERY_MINUTE = { type: "schedule", cron: "* * * * *", timezone: "UTC" };

const everyMinute = (t: TestTenant, name: string) =>
  createProgram(t, {
    name,
    kind: "custom",
    trigger: EVERY_MINUTE,
    quiet_hours: "ignore",
    template: `${name}: hi`,
  });

const stateValue = async (key: string) =>
  (await env.DB.prepare("SELECT value FROM system_state WHERE key = ?").bind(key).first<{ value: string }>())
    ?.value;

/**
 * A tick whose invocation dies at the first statement of `programId`'s own work; resolves once it
 * has, and the work queue delivered the occurrence pages the tick handed it before it died.
 */
async function killedTick(isoTime: string, programId: string): Promise<void> {
  at(isoTime);
  const f = faultyEnv(env, {
    nth: 1,
    mode: "hang",
    match: (text) => text.includes(programId) && !text.includes("system_state"),
  });
  const captured = pageCapture(f.env);
  const controller = createScheduledController({ scheduledTime: new Date(isoTime), cron: "* * * * *" });
  // The invocation is abandoned, never awaited: it is stuck for good, as a killed one is gone.
  await worker.scheduled(controller, captured.env, createExecutionContext());
  for (let i = 0; i < 500 && !f.fired; i++) await new Promise((r) => setTimeout(r, 10));
  expect(f.fired, `the tick at ${isoTime} reached ${programId}`).not.toBeNull();
  if (captured.jobs.length > 0) await deliverWork(captured.jobs);
}

describe("a tick killed inside one program", () => {
  it("moves the shared window on, and the others catch up ahead of the program that keeps killing it", async () => {
    at("2026-06-10T09:58:30.000Z");
    // Created first, so the tick meets it first.
    const heavyTenant = await newTenant();
    const heavy = await everyMinute(heavyTenant, "Heavy");
    await createContact(heavyTenant, { phone: phone(), timezone: "UTC" });
    const b = await newTenant();
    const bProgram = await everyMinute(b, "Bea");
    await createContact(b, { phone: phone(), first_name: "Bea", timezone: "UTC" });
    const c = await newTenant();
    const cProgram = await everyMinute(c, "Cleo");
    await createContact(c, { phone: phone(), first_name: "Cleo", timezone: "UTC" });
    await resetScheduler("2026-06-10T09:59:00.000Z");

    const runsOf = async (id: string) =>
      (await messagesOf(id)).map((m) => /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(m.occurrence_key ?? "")?.[0]);
    await killedTick("2026-06-10T10:00:00.000Z", heavy);
    // The window moved on before any program ran; every program still owes 10:00's.
    expect(await stateValue("scheduler.last_tick")).toBe("2026-06-10T10:00:00.000Z");
    for (const id of [heavy, bProgram, cProgram])
      expect(await stateValue(`scheduler.owed.${id}`)).toBeDefined();

    await killedTick("2026-06-10T10:01:00.000Z", heavy);
    await killedTick("2026-06-10T10:02:00.000Z", heavy);
    // By now the program that killed two ticks runs after the others, which got through.
    expect(Number(await stateValue(`scheduler.strikes.${heavy}`))).toBeGreaterThanOrEqual(2);
    for (const id of [bProgram, cProgram]) {
      expect((await runsOf(id)).at(-1)).toBe("2026-06-10T10:02:00.000Z");
      expect(await stateValue(`scheduler.owed.${id}`)).toBeUndefined();
    }
    const sentAt1002 = await Promise.all(
      [bProgram, cProgram].map(async (id) => (await messagesOf(id)).length),
    );
    await killedTick("2026-06-10T10:03:00.000Z", heavy);
    expect(await stateValue("scheduler.last_tick")).toBe("2026-06-10T10:03:00.000Z");
    for (const [i, id] of [bProgram, cProgram].entries()) {
      const sent = await messagesOf(id);
      expect(sent).toHaveLength((sentAt1002[i] ?? 0) + 1);
      expect(sent.at(-1)?.occurrence_key).toContain("2026-06-10T10:03:00");
    }
    expect(await messagesOf(heavy)).toEqual([]);

    // Once it stops killing the tick, the heavy program catches up its owed window (its latest
    // valid run, as a fixed schedule does after an outage) and owes nothing any more.
    await tick("2026-06-10T10:04:00.000Z");
    expect((await messagesOf(heavy)).map((m) => m.occurrence_key)).toEqual([
      expect.stringContaining("2026-06-10T10:04:00"),
    ]);
    expect(await stateValue(`scheduler.owed.${heavy}`)).toBeUndefined();
    expect(await stateValue(`scheduler.strikes.${heavy}`)).toBeUndefined();
  });
});
