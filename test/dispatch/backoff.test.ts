import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "../../src/domain/backoff";

describe("retryDelaySeconds", () => {
  it("never waits less than Retry-After nor less than a second", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 0, max: 3600 }), { nil: undefined }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, retryAfter, r) => {
          const d = retryDelaySeconds(attempt, retryAfter, () => r);
          return d >= 1 && d >= (retryAfter ?? 0);
        },
      ),
    );
  });

  it("grows exponentially from 2 s with full jitter and stays under the 10 min cap", () => {
    expect(retryDelaySeconds(1, undefined, () => 0.999)).toBe(2);
    expect(retryDelaySeconds(3, undefined, () => 0.999)).toBe(8);
    // The cap a carrier outage is retried at: 10 minutes, written out (not read back from src).
    expect(retryDelaySeconds(20, undefined, () => 0.999)).toBe(600);
    expect(retryDelaySeconds(5, undefined, () => 0)).toBe(1);
  });
});
