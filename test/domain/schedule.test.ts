import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  birthdayInYear,
  birthdayMonthDaysOn,
  cronError,
  cronRunsBetween,
  datesInWindow,
  dateTriggerDue,
  isLeapYear,
  localParts,
  localToUtc,
  nextBirthday,
  nextCron,
} from "../../src/domain/schedule";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ZONES = [
  "America/New_York",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Australia/Sydney",
  "UTC",
  "America/Chicago",
];

describe("localToUtc", () => {
  it("converts ordinary local times", () => {
    expect(iso(localToUtc("2026-07-01", "10:00", "Europe/Berlin"))).toBe("2026-07-01T08:00:00.000Z");
    expect(iso(localToUtc("2026-01-15", "10:00", "America/New_York"))).toBe("2026-01-15T15:00:00.000Z");
    expect(iso(localToUtc("2026-01-15", "10:00", "Asia/Kolkata"))).toBe("2026-01-15T04:30:00.000Z");
  });

  it("a time skipped by spring forward fires at the next valid minute", () => {
    expect(iso(localToUtc("2026-03-08", "02:30", "America/New_York"))).toBe("2026-03-08T07:00:00.000Z");
    expect(iso(localToUtc("2026-03-29", "02:15", "Europe/Berlin"))).toBe("2026-03-29T01:00:00.000Z");
  });

  it("a time repeated by fall back fires once, at the first", () => {
    expect(iso(localToUtc("2026-11-01", "01:30", "America/New_York"))).toBe("2026-11-01T05:30:00.000Z");
    expect(iso(localToUtc("2026-10-25", "02:30", "Europe/Berlin"))).toBe("2026-10-25T00:30:00.000Z");
  });

  it("round-trips every existing local minute (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (zone, ms) => {
          const minute = Math.floor(ms / 60_000) * 60_000;
          const p = localParts(minute, zone);
          const date = `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
          const time = `${String(p.hour).padStart(2, "0")}:${String(p.minute).padStart(2, "0")}`;
          const back = localToUtc(date, time, zone);
          // The same wall clock; the first of two when the hour repeats.
          expect(localParts(back, zone)).toEqual(p);
          expect(back).toBeLessThanOrEqual(minute);
          expect(minute - back).toBeLessThanOrEqual(3_600_000);
        },
      ),
    );
  });
});

describe("birthdays", () => {
  it("29 February falls on 28 February in common years", () => {
    expect(birthdayInYear("--02-29", 2027)).toBe("2027-02-28");
    expect(birthdayInYear("2000-02-29", 2028)).toBe("2028-02-29");
    expect(birthdayInYear("1990-12-31", 2026)).toBe("2026-12-31");
    expect(birthdayMonthDaysOn("2027-02-28")).toEqual(["02-28", "02-29"]);
    expect(birthdayMonthDaysOn("2028-02-28")).toEqual(["02-28"]);
  });

  it("nextBirthday is after the instant and on the birthday (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (zone, m, d, after) => {
          const days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
          const md = `--${String(m).padStart(2, "0")}-${String(Math.min(d, days)).padStart(2, "0")}`;
          const next = nextBirthday(md, "10:00", zone, after);
          expect(next.dueAt).toBeGreaterThan(after);
          expect(next.dueAt - after).toBeLessThanOrEqual(366 * 86_400_000 + 2 * 86_400_000);
          expect(next.date).toBe(birthdayInYear(md, next.year));
        },
      ),
    );
  });

  it("isLeapYear", () => {
    expect([1900, 2000, 2024, 2026].map(isLeapYear)).toEqual([false, true, true, false]);
  });
});

describe("date triggers and windows", () => {
  it("offset days and local time", () => {
    expect(iso(dateTriggerDue("2026-12-04", -3, "10:00", "Europe/Berlin"))).toBe("2026-12-01T09:00:00.000Z");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
  });

  it("every zone's local date during the window is listed (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES, "Pacific/Kiritimati", "Pacific/Pago_Pago"),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        (zone, from, span) => {
          const dates = datesInWindow(from, from + span);
          for (const t of [from, from + span]) {
            const p = localParts(t, zone);
            const d = `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
            expect(dates).toContain(d);
          }
        },
      ),
    );
  });
});

describe("cron", () => {
  it("validates expressions", () => {
    expect(cronError("0 10 * * 1")).toBeNull();
    expect(cronError("0 10 * *")).toMatch(/5 fields/);
    expect(cronError("61 * * * *")).toBeTruthy();
  });

  it("fires in the given zone across DST", () => {
    expect(iso(nextCron("0 10 * * 1", "Europe/Berlin", Date.parse("2026-11-22T00:00:00Z")))).toBe(
      "2026-11-23T09:00:00.000Z",
    );
    expect(iso(nextCron("30 2 * * *", "America/New_York", Date.parse("2026-03-08T00:00:00Z")))).toBe(
      "2026-03-08T07:00:00.000Z",
    );
    const fallBack = cronRunsBetween(
      "30 1 * * *",
      "America/New_York",
      Date.parse("2026-10-31T12:00:00Z"),
      Date.parse("2026-11-02T12:00:00Z"),
    ).map(iso);
    expect(fallBack).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
  });
});
