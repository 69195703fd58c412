import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BucketState, take } from "../../src/domain/token-bucket";
import type { RateLimiter } from "../../src/limits/durable-object";

let n = 0;
const bucket = () => env.RATE_LIMITER.getByName(`test:${++n}`);

describe("RateLimiter (Durable Object)", () => {
  it("never grants more than a full bucket to many concurrent takers at one instant", async () => {
    const stub = bucket();
    const now = Date.now();
    const grants = await Promise.all(Array.from({ length: 60 }, () => stub.take(10, 1, now)));
    expect(grants.reduce((s, g) => s + g.granted, 0)).toBe(10);
    const refused = grants.filter((g) => g.granted === 0);
    expect(refused).toHaveLength(50);
    for (const g of refused) expect(g.retryAfterMs).toBeGreaterThan(0);
  });

  it("grants no more than capacity + elapsed × rate to concurrent takers over time", async () => {
    const stub = bucket();
    const rate = 5;
    const start = Date.now();
    // 200 takers spread over 2 s of (logical) time, all fired concurrently.
    const grants = await Promise.all(
      Array.from({ length: 200 }, (_, i) => stub.take(rate, [1, 1], start + i * 10)),
    );
    const granted = grants.reduce((s, g) => s + g.granted, 0);
    const elapsedS = (199 * 10) / 1000;
    expect(granted).toBeLessThanOrEqual(rate + elapsedS * rate + 1e-9);
    expect(granted).toBeGreaterThanOrEqual(Math.floor(rate + elapsedS * rate) - 2);
  });

  it("refills continuously: half a second later, half a bucket", async () => {
    const stub = bucket();
    const t0 = 1_700_000_000_000;
    expect((await stub.take(50, 100, t0)).granted).toBe(50);
    const later = await stub.take(50, 100, t0 + 500);
    expect(later.granted).toBe(25);
    expect(later.retryAfterMs).toBe(20);
  });

  it("grants whole messages only: the longest prefix of costs that fits", async () => {
    const stub = bucket();
    const g = await stub.take(5, [2, 2, 2], Date.now());
    expect(g).toMatchObject({ granted: 4, count: 2 });
  });

  it.each([
    ["evicted (instance torn down, storage kept)", (stub: DurableObjectStub) => evictDurableObject(stub)],
    ["aborted (every instance reset, as after a crash)", () => abortAllDurableObjects()],
  ] as const)(
    "comes back with the tokens it had, not a fresh bucket, after it is %s",
    async (_how, restart) => {
      const name = `test:${++n}`;
      const stub = env.RATE_LIMITER.getByName(name);
      const t0 = Date.now();
      expect((await stub.take(10, 10, t0)).granted).toBe(10);
      // Tag the running instance, so the test can tell a new instance from the old one.
      await runInDurableObject(stub, (instance: RateLimiter) => {
        (instance as unknown as { tagged?: boolean }).tagged = true;
      });
      await restart(stub);
      const again = env.RATE_LIMITER.getByName(name);
      const sameInstance = await runInDurableObject(
        again,
        (instance: RateLimiter) => (instance as unknown as { tagged?: boolean }).tagged === true,
      );
      expect(sameInstance).toBe(false);
      // 100 ms at 10/s refilled one token: a limiter that forgot would grant a full bucket of 10.
      const after = await again.take(10, 10, t0 + 100);
      expect(after.granted).toBe(1);
      expect(after.retryAfterMs).toBe(100);
    },
  );

  it("gives back refunded tokens, never above the capacity", async () => {
    const stub = bucket();
    const t0 = Date.now();
    await stub.take(4, 4, t0);
    await stub.refund(4, 10, t0);
    expect((await stub.take(4, 10, t0)).granted).toBe(4);
  });
});

describe("token bucket (pure)", () => {
  it("over any sequence of takes, grants ≤ capacity + elapsed × rate", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 300 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (rate, steps) => {
          let state: BucketState | undefined;
          let now = 0;
          let granted = 0;
          for (const [dt, want] of steps) {
            now += dt;
            const r = take(state, rate, want, now);
            expect(r.granted).toBeLessThanOrEqual(want);
            granted += r.granted;
            state = r.state;
          }
          return granted <= rate + (now * rate) / 1000 + 1e-6;
        },
      ),
    );
  });

  it("a refused take says when to come back, and coming back then is granted", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (rate, cost) => {
        const full = take(undefined, rate, rate, 0);
        const refused = take(full.state, rate, [cost], 0);
        if (refused.count === 1) return true;
        const retry = take(refused.state, rate, [cost], refused.retryAfterMs);
        return retry.count === 1;
      }),
    );
  });
});
