import type { ContactRow } from "../../db/rows";
import type { AttributeValue } from "../../db/schema";
import { ageOn } from "../../domain/age";
import { localDate } from "../../domain/schedule";

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
    age: ageOn(row.birthday, localDate(now.getTime(), row.timezone)),
    attributes: row.attributes ?? {},
    subscribed: Boolean(row.subscribed),
    marketing_opt_in: Boolean(row.marketingOptIn),
    unsubscribed_at: row.unsubscribedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
