import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { durableObjectBuckets } from "../../src/limits/durable-object";
import { Ledger } from "../../src/pipeline/dispatch/ledger";
import { load } from "../../src/pipeline/dispatch/load";
import { takeTokens } from "../../src/pipeline/dispatch/pace";
import { ADMIN_TOKEN, call } from "../helpers/api";
import { insertCarrier, insertMessage, tenant } from "./fixtures";

/** A fixed clock far from any other test's buckets: a fresh bucket starts full (one second of rate). */
const NOW = Date.parse("2032-01-01T00:00:00.000Z");

/**
 * The operator's `mps` reaches the rate limiter: the value the dispatcher loads for a batch is the
 * one set through the API, and the tenant's bucket grants exactly that many single-segment sends
 * at once. Without timing: the clock is fixed, so no bucket refills between the takes.
 */
describe("the tenant rate set through the API paces dispatch", () => {
  it("created with mps 1, raised to 3 with PATCH /v1/tenants/{id}: the batch loads 3 and 3 of 5 go", async () => {
    const t = await tenant({ mps: 1 });
    await insertCarrier(t.id, { mps: 1_000 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await insertMessage(t.id, { body: `operator rate ${i}` }));

    const before = await load(env, new Ledger([]), ids);
    expect(before?.tenantMps.get(t.id)).toBe(1);

    const patched = await call("PATCH", `/v1/tenants/${t.id}`, { key: ADMIN_TOKEN, body: { mps: 3 } });
    expect(patched.status).toBe(200);
    const batch = await load(env, new Ledger([]), ids);
    expect(batch?.tenantMps.get(t.id)).toBe(3);

    const candidates = (batch?.rows ?? []).map((row) => ({
      row,
      carrier: { id: "car_operator_mps", provider: "twilio", mps: 1_000 },
      cost: 1,
    }));
    const { granted, waiting } = await takeTokens(
      durableObjectBuckets(env),
      candidates as unknown as Parameters<typeof takeTokens>[1],
      batch?.tenantMps ?? new Map(),
      NOW,
    );
    expect(granted).toHaveLength(3);
    expect(waiting).toHaveLength(2);
  });
});
