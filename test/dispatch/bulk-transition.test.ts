import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { iso } from "../../src/lib/time";
import { bulkTransitionStatements, movedIds } from "../../src/services/messages/status";
import { events, insertMessage, message, tenant } from "./fixtures";

describe("bulkTransitionStatements", () => {
  it("moves only rows in an allowed state, writes one event per moved row, and reports which moved", async () => {
    const t = await tenant();
    const other = await tenant();
    const a = await insertMessage(t.id);
    const b = await insertMessage(t.id, { status: "delivered" });
    const foreign = await insertMessage(other.id);
    const at = iso();
    const [update] = await env.DB.batch(
      bulkTransitionStatements(env.DB, {
        to: "sending",
        from: ["queued"],
        at,
        incrementAttempts: true,
        rows: [
          { tenantId: t.id, messageId: a, set: { carrier_id: "car_x" }, detail: "first" },
          { tenantId: t.id, messageId: a, set: { carrier_id: "car_x" }, detail: "duplicate" },
          { tenantId: t.id, messageId: b, set: { carrier_id: "car_x" } },
          // Another tenant's row named with this tenant's id is never touched.
          { tenantId: t.id, messageId: foreign, set: { carrier_id: "car_x" } },
        ],
      }),
    );
    expect([...movedIds(update)]).toEqual([a]);
    expect(await message(a)).toMatchObject({ status: "sending", attempts: 1, carrier_id: "car_x" });
    expect(await events(a)).toEqual(["sending"]);
    expect((await message(b)).status).toBe("delivered");
    expect(await events(b)).toEqual([]);
    expect(await message(foreign)).toMatchObject({ status: "queued", carrier_id: null });
    // The same move again changes nothing and writes no second event.
    const [again] = await env.DB.batch(
      bulkTransitionStatements(env.DB, {
        to: "sending",
        from: ["queued"],
        at: iso(),
        rows: [{ tenantId: t.id, messageId: a }],
      }),
    );
    expect(movedIds(again).size).toBe(0);
    expect(await events(a)).toEqual(["sending"]);
  });

  it("never allows a move ALLOWED_FROM forbids, even when asked", async () => {
    const t = await tenant();
    const id = await insertMessage(t.id, { status: "delivered" });
    const [update] = await env.DB.batch(
      bulkTransitionStatements(env.DB, {
        to: "sent",
        from: ["delivered" as never],
        at: iso(),
        rows: [{ tenantId: t.id, messageId: id }],
      }),
    );
    expect(movedIds(update).size).toBe(0);
    expect((await message(id)).status).toBe("delivered");
  });
});
