import type { ContactRow } from "../../db/rows";
import type { AttributeValue } from "../../db/schema";

/** The Contact object of the API (PRODUCT.md). */
export interface ContactView {
  id: string;
  phone: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  external_id: string | null;
  timezone: string | null;
  locale: string | null;
  birthday: string | null;
  age: number | null;
  attributes: Record<string, AttributeValue>;
  subscribed: boolean;
  marketing_opt_in: boolean;
  unsubscribed_at: string | null;
  created_at: string;
  updated_at: string;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of `now` in `timeZone` (UTC when the zone is unknown). */
export function localDate(now: Date, timeZone: string | null | undefined): string {
  const zone = timeZone ?? "UTC";
  let fmt = dayFormats.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      });
    } catch {
      fmt = new Intl.DateTimeFormat("en-CA", {
        timeZone: "UTC",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      });
    }
    dayFormats.set(zone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(now).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/**
 * Whole years since a full birthday (`YYYY-MM-DD`) on the contact's local date; null for `--MM-DD`
 * or no birthday. Someone born on 29 February turns a year older on 1 March in common years.
 */
export function ageOn(birthday: string | null | undefined, today: string): number | null {
  if (!birthday || !/^\d{4}-\d{2}-\d{2}$/.test(birthday)) return null;
  const years = Number(today.slice(0, 4)) - Number(birthday.slice(0, 4));
  const age = today.slice(5) < birthday.slice(5) ? years - 1 : years;
  return age < 0 ? null : age;
}

export function contactView(row: ContactRow, now: Date = new Date()): ContactView {
  return {
    id: row.id,
    phone: row.phone,
    first_name: row.firstName,
    last_name: row.lastName,
    email: row.email,
    external_id: row.externalId,
    timezone: row.timezone,
    locale: row.locale,
    birthday: row.birthday,
    age: ageOn(row.birthday, localDate(now, row.timezone)),
    attributes: row.attributes ?? {},
    subscribed: Boolean(row.subscribed),
    marketing_opt_in: Boolean(row.marketingOptIn),
    unsubscribed_at: row.unsubscribedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
