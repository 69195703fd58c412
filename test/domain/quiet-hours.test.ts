import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_QUIET_HOURS,
  FL_OK_QUIET_HOURS,
  isQuiet,
  nextAllowedMinute,
  stricterWindows,
} from "../../src/domain/quiet-hours";

const NY = "America/New_York";
const BERLIN = "Europe/Berlin";
const at = (s: string) => new Date(s);

describe("isQuiet / nextAllowedMinute", () => {
  it("returns the instant itself when allowed", () => {
    const t = at("2026-01-15T15:30:12.345Z"); // 10:30 in New York
    expect(isQuiet(t, [NY], DEFAULT_QUIET_HOURS)).toBe(false);
    expect(nextAllowedMinute(t, [NY], DEFAULT_QUIET_HOURS)).toEqual(t);
  });

  it("defers 22:00 local to 08:00 the next morning", () => {
    const t = at("2026-01-15T03:00:00Z"); // 22:00 EST on the 14th
    expect(isQuiet(t, [NY], DEFAULT_QUIET_HOURS)).toBe(true);
    expect(nextAllowedMinute(t, [NY], DEFAULT_QUIET_HOURS).toISOString()).toBe("2026-01-15T13:00:00.000Z");
  });

  it("treats start as quiet and end as allowed ([start, end))", () => {
    expect(isQuiet(at("2026-01-15T02:00:00Z"), [NY], DEFAULT_QUIET_HOURS)).toBe(true); // 21:00
    expect(isQuiet(at("2026-01-15T01:59:00Z"), [NY], DEFAULT_QUIET_HOURS)).toBe(false); // 20:59
    expect(isQuiet(at("2026-01-15T13:00:00Z"), [NY], DEFAULT_QUIET_HOURS)).toBe(false); // 08:00
    expect(isQuiet(at("2026-01-15T12:59:00Z"), [NY], DEFAULT_QUIET_HOURS)).toBe(true); // 07:59
  });

  it("rounds a deferred instant to the whole minute", () => {
    const r = nextAllowedMinute(at("2026-01-15T12:59:30.500Z"), [NY], DEFAULT_QUIET_HOURS);
    expect(r.toISOString()).toBe("2026-01-15T13:00:00.000Z");
  });

  it("handles a non-wrapping window", () => {
    const w = { start: "12:00", end: "13:30" };
    expect(nextAllowedMinute(at("2026-06-01T16:10:00Z"), [NY], w).toISOString()).toBe(
      "2026-06-01T17:30:00.000Z",
    );
  });

  it("America/New_York spring forward: 08:00 EDT is 12:00Z", () => {
    // 2026-03-08 02:00 EST → 03:00 EDT; from midnight EST the wall clock needs only 7 real hours
    expect(nextAllowedMinute(at("2026-03-08T05:00:00Z"), [NY], DEFAULT_QUIET_HOURS).toISOString()).toBe(
      "2026-03-08T12:00:00.000Z",
    );
  });

  it("America/New_York fall back: 08:00 EST is 13:00Z", () => {
    expect(nextAllowedMinute(at("2026-11-01T04:00:00Z"), [NY], DEFAULT_QUIET_HOURS).toISOString()).toBe(
      "2026-11-01T13:00:00.000Z",
    );
  });

  it("a window end inside the spring-forward gap resolves to the first minute after it", () => {
    const w = { start: "22:00", end: "02:30" };
    expect(nextAllowedMinute(at("2026-03-08T06:30:00Z"), [NY], w).toISOString()).toBe(
      "2026-03-08T07:00:00.000Z",
    );
  });

  it("Europe/Berlin spring forward and fall back", () => {
    expect(nextAllowedMinute(at("2026-03-28T21:00:00Z"), [BERLIN], DEFAULT_QUIET_HOURS).toISOString()).toBe(
      "2026-03-29T06:00:00.000Z",
    );
    expect(nextAllowedMinute(at("2026-10-24T20:00:00Z"), [BERLIN], DEFAULT_QUIET_HOURS).toISOString()).toBe(
      "2026-10-25T07:00:00.000Z",
    );
  });

  it("waits until the minute is allowed in every candidate zone", () => {
    const t = at("2026-01-15T12:30:00Z"); // 07:30 New York, 04:30 Los Angeles
    expect(isQuiet(t, [NY, "America/Los_Angeles"], DEFAULT_QUIET_HOURS)).toBe(true);
    expect(nextAllowedMinute(t, [NY, "America/Los_Angeles"], DEFAULT_QUIET_HOURS).toISOString()).toBe(
      "2026-01-15T16:00:00.000Z",
    );
  });

  it("Florida/Oklahoma: 20:00 is quiet under the stricter window", () => {
    const windows = stricterWindows(DEFAULT_QUIET_HOURS, FL_OK_QUIET_HOURS);
    expect(windows).toEqual([FL_OK_QUIET_HOURS]);
    const t = at("2026-01-15T01:30:00Z"); // 20:30 EST
    expect(isQuiet(t, [NY], DEFAULT_QUIET_HOURS)).toBe(false);
    expect(isQuiet(t, [NY], windows)).toBe(true);
    expect(stricterWindows({ start: "13:00", end: "14:00" }, FL_OK_QUIET_HOURS)).toHaveLength(2);
  });

  it("property: the answer is allowed, not earlier than the instant, and the minute before it was quiet", () => {
    const zones = [NY, BERLIN, "America/Chicago", "America/Los_Angeles", "Australia/Sydney", "Asia/Kolkata"];
    const hhmm = (m: number) =>
      `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
        fc.subarray(zones, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 1, max: 600 }),
        (ms, zs, start, len) => {
          const w = { start: hhmm(start), end: hhmm((start + len) % 1440) };
          const t = new Date(ms);
          const r = nextAllowedMinute(t, zs, w);
          expect(r.getTime()).toBeGreaterThanOrEqual(t.getTime());
          expect(isQuiet(r, zs, w)).toBe(false);
          if (r.getTime() !== t.getTime()) {
            expect(r.getTime() % 60_000).toBe(0);
            expect(isQuiet(new Date(r.getTime() - 60_000), zs, w)).toBe(true);
            expect(r.getTime() - t.getTime()).toBeLessThanOrEqual(26 * 3_600_000);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
