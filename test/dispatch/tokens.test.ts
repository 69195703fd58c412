import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { durableObjectBuckets } from "../../src/limits/durable-object";
import { takeTokens } from "../../src/pipeline/dispatch/pace";
import type { Candidate } from "../../src/pipeline/dispatch/types";

/** A fixed clock far from any other test's buckets: every bucket starts full at `NOW`. */
const NOW = Date.parse("2031-01-01T00:00:00.000Z");

function candidates(tenantId: string, carrierId: string, mps: number, n: number): Candidate[] {
  return Array.from(
    { length: n },
    (_, i) =>
      ({
        row: { id: `msg_${i}`, tenant_id: tenantId },
        carrier: { id: carrierId, provider: "twilio", mps },
        cost: 1,
      }) as unknown as Candidate,
  );
}

/** How many single tokens a bucket still gives at `NOW` (it does not refill without time passing). */
const left = async (name: string, rate: number): Promise<number> =>
  (await env.RATE_LIMITER.getByName(name).take(rate, Array(10).fill(1), NOW)).count;

describe("takeTokens: carrier pool and tenant buckets, taken at once", () => {
  it("a message goes only when both buckets granted it; the pool gets back what the tenant refused", async () => {
    const tenantId = newId("tenant");
    const carrierId = newId("carrier");
    const { granted, waiting } = await takeTokens(
      durableObjectBuckets(env),
      candidates(tenantId, carrierId, 4, 4),
      new Map([[tenantId, 2]]),
      NOW,
    );
    expect(granted.map((c) => c.row.id)).toEqual(["msg_0", "msg_1"]);
    expect(waiting.map((w) => w.cand.row.id)).toEqual(["msg_2", "msg_3"]);
    // Spread by place in the tenant's line: one more token at 2/s is half a second away.
    expect(waiting[1]?.delayMs ?? 0).toBeGreaterThan(waiting[0]?.delayMs ?? 0);
    expect(await left(`carrier:${carrierId}`, 4)).toBe(2);
    expect(await left(`tenant:${tenantId}`, 2)).toBe(0);
  });

  it("the tenant gets back what the pool refused", async () => {
    const tenantId = newId("tenant");
    const carrierId = newId("carrier");
    const { granted, waiting } = await takeTokens(
      durableObjectBuckets(env),
      candidates(tenantId, carrierId, 1, 3),
      new Map([[tenantId, 5]]),
      NOW,
    );
    expect(granted).toHaveLength(1);
    expect(waiting).toHaveLength(2);
    expect(await left(`tenant:${tenantId}`, 5)).toBe(4);
    expect(await left(`carrier:${carrierId}`, 1)).toBe(0);
  });
});
