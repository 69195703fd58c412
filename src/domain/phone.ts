import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from "libphonenumber-js/max";

export type NormalizedPhone =
  | { ok: true; e164: string; country: string | undefined }
  | { ok: false; message: string };

/**
 * Reads a phone number written in E.164 (`+14155550100`) or national form (`(415) 555-0100`,
 * read with `defaultCountry`) and returns its E.164 form. Only numbers that the full (`/max`)
 * metadata considers valid are accepted, so a number with a plausible length but an unassigned
 * prefix is refused before a carrier is ever paid to try it.
 *
 * @example normalizePhone("(415) 555-2671", "US") // { ok: true, e164: "+14155552671", country: "US" }
 * @example normalizePhone("12345", "US") // { ok: false, message: "is not a valid phone number" }
 * @example normalizePhone("+44 20 7946 0958", "US") // { ok: true, e164: "+442079460958", country: "GB" }
 */
export function normalizePhone(input: string, defaultCountry: string): NormalizedPhone {
  if (typeof input !== "string") return { ok: false, message: "must be a string" };
  const trimmed = input.trim();
  if (trimmed.length === 0) return { ok: false, message: "is empty" };
  if (trimmed.length > 40) return { ok: false, message: "is too long to be a phone number" };
  if (!/^\+?[0-9()\-.\s/]+$/.test(trimmed)) {
    return {
      ok: false,
      message: /\d\s*(ext|x|#)/i.test(trimmed)
        ? "must not carry an extension"
        : "is not a valid phone number",
    };
  }
  const country = defaultCountry.toUpperCase();
  const hint = isSupportedCountry(country) ? (country as CountryCode) : undefined;
  if (!trimmed.startsWith("+") && !hint) {
    return { ok: false, message: "is not in E.164 form and no country was given to read it" };
  }
  const parsed = parsePhoneNumberFromString(trimmed, hint ? { defaultCountry: hint } : undefined);
  if (!parsed) return { ok: false, message: "is not a valid phone number" };
  if (!parsed.isValid()) return { ok: false, message: "is not a valid phone number" };
  return { ok: true, e164: parsed.number, country: parsed.country };
}

/**
 * The country (ISO 3166-1 alpha-2) an E.164 number belongs to, or undefined when the calling code
 * is shared and the number does not say (e.g. non-geographic +800).
 */
export function phoneCountry(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}
