import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newTenant } from "../helpers/tenant";
import { at, createContact, createProgram, messagesOf, resetScheduler, tick } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
});

describe("a contact's date field changes after it was scheduled", () => {
  it("billing follows the new due date, not the old one", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant({ brand_name: "Northwind Power" });
    const pg = await createProgram(t, { name: "Due in 3 days", kind: "billing" });
    const phone = "+13125550187";
    await createContact(t, {
      phone,
      first_name: "Ola",
      timezone: "America/Chicago",
      attributes: { billing_due_date: "2026-06-20" },
    });
    // The bill moves a week later before the reminder was due.
    const moved = await t.api.post("/v1/contacts", { phone, attributes: { billing_due_date: "2026-06-27" } });
    expect(moved.status).toBe(200);

    await resetScheduler("2026-06-17T14:59:00.000Z");
    await tick("2026-06-17T15:00:00.000Z");
    expect(await messagesOf(pg)).toEqual([]);

    await resetScheduler("2026-06-24T14:59:00.000Z");
    await tick("2026-06-24T15:00:00.000Z");
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.body).toContain("Sat Jun 27");
  });
});

describe("housekeeping on each tick", () => {
  it("forgets Idempotency-Keys older than 24 h and keeps younger ones", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant();
    const send = (key: string) =>
      t.api.post(
        "/v1/segments/preview",
        { filter: { field: "city", op: "eq", value: "Oslo" } },
        { headers: { "idempotency-key": key } },
      );
    expect((await send("old-key")).status).toBe(200);
    at("2026-06-02T11:00:00.000Z");
    expect((await send("young-key")).status).toBe(200);
    await resetScheduler("2026-06-02T12:00:00.000Z");
    await tick("2026-06-02T12:01:00.000Z");
    const { results } = await env.DB.prepare(
      "SELECT key FROM idempotency_keys WHERE tenant_id = ? ORDER BY key",
    )
      .bind(t.id)
      .all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual(["young-key"]);
  });
});
