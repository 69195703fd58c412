/**
 * Sending rule 5 (quiet hours), decided at creation and checked again at dispatch with the same
 * zones, windows and arithmetic. Applies to program messages and API sends with
 * `quiet_hours: "enforce"`; keyword replies skip it. Due inside the contact's quiet hours —
 * `[start, end)`, the tenant's window (default 21:00–08:00 local), 20:00–08:00 at the least in
 * Florida and Oklahoma — → wait for the first allowed minute.
 */
import {
  DEFAULT_QUIET_HOURS,
  FL_OK_QUIET_HOURS,
  nextAllowedMinute,
  type QuietWindow,
  stricterWindows,
} from "../quiet-hours";
import { candidateZones, isFloridaOrOklahoma } from "../timezones";

/** What the rule needs of a tenant: its zone and its window (empty: the default). */
export interface QuietTenant {
  timezone: string;
  quietHoursStart: string | null;
  quietHoursEnd: string | null;
}

/** What the rule needs of a message and its recipient. */
export interface QuietRecipient {
  quietHours: string;
  keywordReply: boolean;
  /** E.164. */
  to: string;
  contactTimezone: string | null | undefined;
  contactRegion: string | null | undefined;
}

/** A tenant whose row did not load still gets the default window (fail closed). */
export const DEFAULT_QUIET_TENANT: QuietTenant = {
  timezone: "America/New_York",
  quietHoursStart: DEFAULT_QUIET_HOURS.start,
  quietHoursEnd: DEFAULT_QUIET_HOURS.end,
};

/**
 * Candidate zones of a recipient: the contact's zone, else the number's, else the tenant's. A minute
 * is quiet when it is quiet in any of them.
 *
 * @example recipientZones("+14155550100", null, "America/New_York") // ["America/Los_Angeles"]
 */
export function recipientZones(
  e164: string,
  contactZone: string | null | undefined,
  tenantZone: string,
): string[] {
  if (contactZone) return [contactZone];
  const zones = candidateZones(e164);
  return zones.length > 0 ? zones : [tenantZone];
}

/**
 * The tenant's quiet window, made stricter for Florida and Oklahoma numbers.
 *
 * @example quietWindowsFor({ quietHoursStart: "21:00", quietHoursEnd: "08:00" }, "+13055550100") // [{ start: "20:00", end: "08:00" }]
 */
export function quietWindowsFor(
  tenant: Pick<QuietTenant, "quietHoursStart" | "quietHoursEnd">,
  e164: string,
  region?: string | null,
): QuietWindow[] {
  const own = {
    start: tenant.quietHoursStart || DEFAULT_QUIET_HOURS.start,
    end: tenant.quietHoursEnd || DEFAULT_QUIET_HOURS.end,
  };
  return isFloridaOrOklahoma(e164, region) ? stricterWindows(own, FL_OK_QUIET_HOURS) : [own];
}

/**
 * The first allowed minute after `at` when the message must wait for quiet hours to end, else null
 * (it may go at `at`).
 *
 * @example quietUntil({ quietHours: "enforce", keywordReply: false, to: "+12125550100", contactTimezone: "America/New_York", contactRegion: null }, DEFAULT_QUIET_TENANT, Date.parse("2026-01-15T03:00:00Z")) // Date.parse("2026-01-15T13:00:00Z")
 */
export function quietUntil(r: QuietRecipient, tenant: QuietTenant | undefined, at: number): number | null {
  if (r.quietHours !== "enforce" || r.keywordReply) return null;
  const t = tenant ?? DEFAULT_QUIET_TENANT;
  const zones = recipientZones(r.to, r.contactTimezone, t.timezone);
  const allowed = nextAllowedMinute(new Date(at), zones, quietWindowsFor(t, r.to, r.contactRegion)).getTime();
  return allowed > at ? allowed : null;
}
