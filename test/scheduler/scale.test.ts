import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newTenant } from "../helpers/tenant";
import { at, createProgram, messagesOf, resetScheduler, tick } from "./helpers";

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  await resetScheduler();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface TickLine {
  message: string;
  rows_read: number;
  due: number;
}

/** The scheduler's own log line of the tick (it logs D1 rows read by its due-selection queries). */
async function tickAndRead(time: string): Promise<TickLine> {
  const lines: TickLine[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.includes('"scheduler tick"')) lines.push(JSON.parse(line));
  });
  await tick(time);
  spy.mockRestore();
  const last = lines.at(-1);
  if (!last) throw new Error("no tick line");
  return last;
}

describe("a tick never scans all contacts", () => {
  it("reads the due month-days' birthdays through the index, not the 3,650 others", async () => {
    at("2026-01-01T00:00:00.000Z");
    const t = await newTenant({ timezone: "UTC" });
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday", quiet_hours: "ignore" });
    // 3,650 contacts, 10 per day of the year, seeded straight into D1 (created long ago).
    await env.DB.prepare(
      `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < 3649)
       INSERT INTO contacts (id, tenant_id, phone, first_name, timezone, birthday, attributes, subscribed,
         marketing_opt_in, created_at, updated_at)
       SELECT printf('ct_scale%06d', i), ?, printf('+1720555%04d', i), 'C' || i, 'UTC',
         '1990-' || strftime('%m-%d', '2025-01-01', '+' || (i % 365) || ' days'), '{}', 1, 1,
         '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z'
       FROM seq`,
    )
      .bind(t.id)
      .run();
    await resetScheduler("2026-06-10T09:59:00.000Z");
    const due = await tickAndRead("2026-06-10T10:00:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(10);
    // Only the month-day some zone can be at 10:00 on during the window: its 10 birthdays (the
    // index may count an entry or two more), far below the 3,650 contacts.
    expect(due.rows_read).toBeGreaterThanOrEqual(10);
    expect(due.rows_read).toBeLessThanOrEqual(20);
    const idle = await tickAndRead("2026-06-10T10:01:00.000Z");
    expect(idle.due).toBe(0);
    expect(idle.rows_read).toBeLessThanOrEqual(20);
  });
});
