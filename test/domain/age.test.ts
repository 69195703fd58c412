import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ageOn } from "../../src/domain/age";
import { localDate } from "../../src/domain/schedule";

describe("ageOn", () => {
  it("counts whole years, a year more from the birthday on", () => {
    expect(ageOn("1990-04-17", "2026-04-16")).toBe(35);
    expect(ageOn("1990-04-17", "2026-04-17")).toBe(36);
    expect(ageOn("1990-04-17", "2026-12-31")).toBe(36);
    expect(ageOn("2026-04-17", "2026-04-17")).toBe(0);
  });

  it("someone born on 29 February turns a year older on 1 March in common years", () => {
    expect(ageOn("2000-02-29", "2027-02-28")).toBe(26);
    expect(ageOn("2000-02-29", "2027-03-01")).toBe(27);
    expect(ageOn("2000-02-29", "2028-02-29")).toBe(28);
  });

  it("is null without a full birthday, or before it", () => {
    expect(ageOn(null, "2026-04-17")).toBeNull();
    expect(ageOn(undefined, "2026-04-17")).toBeNull();
    expect(ageOn("", "2026-04-17")).toBeNull();
    expect(ageOn("--04-17", "2026-04-17")).toBeNull();
    expect(ageOn("2026-04-18", "2026-04-17")).toBeNull();
  });

  it("never goes down as the days go by (property)", () => {
    const day = fc
      .integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) })
      .map((ms) => new Date(ms).toISOString().slice(0, 10));
    fc.assert(
      fc.property(day, day, day, (birthday, a, b) => {
        const [early, late] = a <= b ? [a, b] : [b, a];
        const x = ageOn(birthday, early);
        const y = ageOn(birthday, late);
        if (x !== null) expect(y).not.toBeNull();
        if (x !== null && y !== null) expect(y).toBeGreaterThanOrEqual(x);
      }),
    );
  });
});

describe("localDate", () => {
  const at = Date.UTC(2026, 0, 1, 3); // 2026-01-01T03:00Z

  it("is the calendar date on the zone's wall clock", () => {
    expect(localDate(at, "UTC")).toBe("2026-01-01");
    expect(localDate(at, "America/New_York")).toBe("2025-12-31");
    expect(localDate(at, "Asia/Tokyo")).toBe("2026-01-01");
    expect(localDate(Date.UTC(2026, 0, 1, 15), "Pacific/Kiritimati")).toBe("2026-01-02");
  });

  it("reads a missing or unknown zone as UTC", () => {
    expect(localDate(at, null)).toBe("2026-01-01");
    expect(localDate(at, undefined)).toBe("2026-01-01");
    expect(localDate(at, "")).toBe("2026-01-01");
    expect(localDate(at, "Not/AZone")).toBe("2026-01-01");
  });
});
