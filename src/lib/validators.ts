import { z } from "@hono/zod-openapi";
import { isSupportedCountry } from "libphonenumber-js/max";

const zoneCache = new Map<string, boolean>();

/** True for a time zone name the runtime's ICU knows (IANA). */
export function isIanaTimezone(tz: string): boolean {
  let ok = zoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      ok = tz.includes("/") || tz === "UTC";
    } catch {
      ok = false;
    }
    zoneCache.set(tz, ok);
  }
  return ok;
}

export const TimezoneSchema = z
  .string()
  .refine(isIanaTimezone, "must be an IANA time zone such as America/New_York")
  .openapi({ description: "IANA time zone.", example: "America/New_York" });

export const CountrySchema = z
  .string()
  .length(2)
  .transform((s) => s.toUpperCase())
  .refine((s) => isSupportedCountry(s), "must be an ISO 3166-1 alpha-2 country with a phone numbering plan")
  .openapi({ description: "ISO 3166-1 alpha-2 country code.", example: "US" });

export const HhMmSchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24-hour)")
  .openapi({ description: "Local time of day, HH:MM 24-hour.", example: "21:00" });

export const TimestampSchema = z
  .string()
  .openapi({ description: "ISO-8601 UTC timestamp.", example: "2026-11-22T21:30:00.000Z" });
