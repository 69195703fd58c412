/**
 * The row shapes of a contact upsert: the contact as merged in memory (`Plain`, without the
 * generated columns) and the consent changes a merge records.
 */
import type { ContactRow } from "../../db/rows";

/** A consent change decided by the merge, written by `upsertWriteStatements`. */
export interface ConsentWrite {
  contactId: string;
  phone: string;
  change: "subscribed" | "unsubscribed" | "marketing_opt_in" | "marketing_opt_out";
  source: string;
  declaredSource: string | null;
  text: string | null;
  at: string;
}

export type Plain = Omit<
  ContactRow,
  "birthdayMd" | "birthdayMonth" | "gender" | "income" | "city" | "region" | "country" | "postalCode"
>;

export const plain = (r: ContactRow | Plain): Plain => ({
  id: r.id,
  tenantId: r.tenantId,
  phone: r.phone,
  firstName: r.firstName,
  lastName: r.lastName,
  email: r.email,
  externalId: r.externalId,
  timezone: r.timezone,
  locale: r.locale,
  birthday: r.birthday,
  attributes: r.attributes ?? {},
  subscribed: Boolean(r.subscribed),
  marketingOptIn: Boolean(r.marketingOptIn),
  unsubscribedAt: r.unsubscribedAt,
  createdFiredAt: r.createdFiredAt,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const sameRow = (a: Plain, b: Plain): boolean =>
  JSON.stringify({ ...a, updatedAt: "" }) === JSON.stringify({ ...b, updatedAt: "" });
