import fc from "fast-check";
import { type CountryCode, getCountries, getExampleNumber } from "libphonenumber-js/max";
import examples from "libphonenumber-js/mobile/examples";
import { describe, expect, it } from "vitest";
import { normalizePhone } from "../../src/domain/phone";
import {
  AREA_CODE_ZONE,
  COUNTRY_ZONES,
  candidateZones,
  inferTimezone,
  isFloridaOrOklahoma,
  SPLIT_AREA_CODES,
} from "../../src/domain/timezones";

const samples = getCountries()
  .map((c) => ({ country: c, number: getExampleNumber(c as CountryCode, examples) }))
  .filter((s) => s.number?.isValid());

describe("normalizePhone", () => {
  it("reads E.164 and national forms", () => {
    expect(normalizePhone("+1 (415) 555-2671", "GB")).toEqual({
      ok: true,
      e164: "+14155552671",
      country: "US",
    });
    expect(normalizePhone("(415) 555-2671", "US")).toEqual({ ok: true, e164: "+14155552671", country: "US" });
    expect(normalizePhone("020 7946 0958", "GB")).toEqual({ ok: true, e164: "+442079460958", country: "GB" });
    expect(normalizePhone("06 12 34 56 78", "FR")).toEqual({ ok: true, e164: "+33612345678", country: "FR" });
  });

  it("refuses what is not a valid number", () => {
    for (const bad of [
      "",
      "   ",
      "12",
      "+1 555",
      "+999123456789",
      "call me",
      "+1 415 555 2671 ext 5",
      "1".repeat(60),
    ]) {
      expect(normalizePhone(bad, "US").ok, bad).toBe(false);
    }
    // A national number needs a country that has a numbering plan.
    expect(normalizePhone("4155552671", "ZZ").ok).toBe(false);
  });

  it("every country's example number normalises to itself, however it is written (property)", () => {
    expect(samples.length).toBeGreaterThan(200);
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.constantFrom("international", "national", "e164", "spaced", "dashed"),
        ({ country, number }, style) => {
          if (!number) return;
          const written =
            style === "international"
              ? number.formatInternational()
              : style === "national"
                ? number.formatNational()
                : style === "e164"
                  ? number.number
                  : style === "spaced"
                    ? ` ${number.number.split("").join(" ")} `
                    : number.number.replace(/(\d{3})/g, "$1-").replace(/-$/, "");
          const res = normalizePhone(written, country);
          expect(res, `${country} ${written}`).toEqual({
            ok: true,
            e164: number.number,
            country: expect.anything(),
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it("never throws, and what it accepts is E.164 and stable (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^\+?[0-9 ()\-.]{0,20}$/),
          fc.constantFrom(...samples.map((s) => s.number?.number ?? "")),
        ),
        fc.constantFrom("US", "GB", "FR", "DE", "IN", "xx"),
        (input, country) => {
          const res = normalizePhone(input, country);
          if (res.ok) {
            expect(res.e164).toMatch(/^\+[1-9]\d{6,14}$/);
            expect(normalizePhone(res.e164, "US")).toEqual(res);
          } else {
            expect(res.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("time zones from numbers", () => {
  it("knows only real IANA zones, and no area code is both certain and split", () => {
    const zones = new Set([
      ...AREA_CODE_ZONE.values(),
      ...Object.values(SPLIT_AREA_CODES).flat(),
      ...Object.values(COUNTRY_ZONES),
    ]);
    for (const z of zones) expect(() => new Intl.DateTimeFormat("en", { timeZone: z }), z).not.toThrow();
    for (const code of Object.keys(SPLIT_AREA_CODES)) expect(AREA_CODE_ZONE.has(code), code).toBe(false);
    expect(AREA_CODE_ZONE.size).toBeGreaterThan(300);
  });

  it("infers a zone only when it is certain", () => {
    expect(inferTimezone("+14155552671")).toBe("America/Los_Angeles");
    expect(inferTimezone("+12125550198")).toBe("America/New_York");
    expect(inferTimezone("+13125550198")).toBe("America/Chicago");
    expect(inferTimezone("+13035550104")).toBe("America/Denver");
    expect(inferTimezone("+16025550104")).toBe("America/Phoenix");
    expect(inferTimezone("+18085550104")).toBe("Pacific/Honolulu");
    expect(inferTimezone("+14165550104")).toBe("America/Toronto");
    expect(inferTimezone("+17875550104")).toBe("America/Puerto_Rico");
    expect(inferTimezone("+442079460958")).toBe("Europe/London");
    expect(inferTimezone("+4930123456")).toBe("Europe/Berlin");
    expect(inferTimezone("+819012345678")).toBe("Asia/Tokyo");
    // Split area codes and multi-zone countries: no guess.
    expect(inferTimezone("+18502240100")).toBeNull();
    expect(inferTimezone("+19075550100")).toBeNull();
    expect(inferTimezone("+18005550100")).toBeNull();
    expect(inferTimezone("+34612345678")).toBeNull();
    expect(inferTimezone("+61412345678")).toBeNull();
  });

  it("lists every candidate zone", () => {
    expect(candidateZones("+14155552671")).toEqual(["America/Los_Angeles"]);
    expect(candidateZones("+18502240100")).toEqual(["America/Chicago", "America/New_York"]);
    expect(candidateZones("+18005550100")).toEqual([
      "America/New_York",
      "America/Chicago",
      "America/Denver",
      "America/Phoenix",
      "America/Los_Angeles",
    ]);
    expect(candidateZones("+61412345678")).toEqual([]);
  });

  it("a certain zone is always one of the candidates (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 999 }),
        fc.integer({ min: 2_000_000, max: 9_999_999 }),
        (area, rest) => {
          const e164 = `+1${area}${rest}`;
          const certain = inferTimezone(e164);
          const candidates = candidateZones(e164);
          if (certain) expect(candidates).toEqual([certain]);
          if (SPLIT_AREA_CODES[String(area)]) expect(candidates.length).toBeGreaterThan(1);
        },
      ),
    );
  });

  it("tells Florida and Oklahoma numbers, the region attribute first", () => {
    expect(isFloridaOrOklahoma("+13055550100")).toBe(true);
    expect(isFloridaOrOklahoma("+19185550100")).toBe(true);
    expect(isFloridaOrOklahoma("+18505550100")).toBe(true);
    expect(isFloridaOrOklahoma("+12125550100")).toBe(false);
    expect(isFloridaOrOklahoma("+12125550100", "Florida")).toBe(true);
    expect(isFloridaOrOklahoma("+12125550100", " ok ")).toBe(true);
    expect(isFloridaOrOklahoma("+13055550100", "NY")).toBe(false);
    expect(isFloridaOrOklahoma("+13055550100", "")).toBe(true);
    expect(isFloridaOrOklahoma("+442079460958")).toBe(false);
  });
});
