/**
 * `POST /v1/events/batch`: many `POST /v1/events` bodies in one request. The contacts of every row
 * are resolved in bulk — one read for the ids, external ids and phones named, one `upsertContacts`
 * for the phones that are not contacts yet — and the program and tenant reads are shared by all
 * rows; then each row is recorded as `ingestEvent` records a single event (its identity, `exit_on`,
 * the triggered programs), in input order, so a batch behaves as the same events sent one by one.
 * A row that fails (unknown contact, invalid phone, an identity used for another event) is
 * reported by index and never stops the others.
 */
import { and, eq, or, sql } from "drizzle-orm";
import { inJsonList } from "../../db/json-list";
import type { ContactRow } from "../../db/rows";
import { contacts, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import type { RowFailure } from "../../lib/batch";
import { type FieldError, HttpProblem } from "../../lib/problem";
import { upsertContacts } from "../contacts/upsert";
import type { ServiceContext } from "../context";
import { type EventInput, eventLookups, type IngestedEvent, recordEvent } from "./ingest";

export type EventRowOutcome = { ok: true; event: IngestedEvent } | { ok: false; errors: FieldError[] };

const distinct = (values: (string | undefined)[]): string[] => [
  ...new Set(values.filter((v): v is string => v !== undefined)),
];

/** Each row's contact (or the 422 of its `contact`), in as many reads as there are kinds of reference. */
async function resolveContacts(
  ctx: ServiceContext,
  inputs: readonly EventInput[],
): Promise<(ContactRow | FieldError)[]> {
  const tenant = await ctx.db
    .select({ c: tenants.defaultCountry })
    .from(tenants)
    .where(eq(tenants.id, ctx.tenantId))
    .get();
  const country = tenant?.c ?? "US";
  const phones = inputs.map((input) => {
    const ref = input.contact;
    return "phone" in ref ? normalizePhone(ref.phone, country) : undefined;
  });
  const ids = distinct(inputs.map((i) => ("id" in i.contact ? i.contact.id : undefined)));
  const externalIds = distinct(
    inputs.map((i) => ("external_id" in i.contact ? i.contact.external_id : undefined)),
  );
  const e164s = distinct(phones.map((p) => (p?.ok ? p.e164 : undefined)));
  const rows = await ctx.db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.tenantId, ctx.tenantId),
        or(
          sql`${contacts.id} IN ${inJsonList(ids)}`,
          sql`${contacts.externalId} IN ${inJsonList(externalIds)}`,
          sql`${contacts.phone} IN ${inJsonList(e164s)}`,
        ),
      ),
    )
    .all();
  const byId = new Map(rows.map((c) => [c.id, c]));
  const byExternal = new Map(rows.flatMap((c) => (c.externalId ? [[c.externalId, c] as const] : [])));
  const byPhone = new Map(rows.map((c) => [c.phone, c]));

  // A phone that is not a contact yet becomes one, as `POST /v1/events` does (contact.created fires).
  const newPhones = e164s.filter((p) => !byPhone.has(p));
  const created = await upsertContacts(
    ctx,
    newPhones.map((phone) => ({ phone })),
    { source: "event", defaultMarketingOptIn: false, defaultCountry: country },
  );
  const createErrors = new Map<string, FieldError[]>();
  created.forEach((o, k) => {
    const phone = newPhones[k] as string;
    if (o.ok) byPhone.set(phone, o.contact);
    else createErrors.set(phone, o.errors);
  });

  return inputs.map((input, i): ContactRow | FieldError => {
    const ref = input.contact;
    if ("id" in ref) return byId.get(ref.id) ?? { path: "contact.id", message: "does not exist" };
    if ("external_id" in ref)
      return byExternal.get(ref.external_id) ?? { path: "contact.external_id", message: "does not exist" };
    const phone = phones[i];
    if (!phone?.ok)
      return { path: "contact.phone", message: phone?.message ?? "is not a valid phone number" };
    const contact = byPhone.get(phone.e164);
    if (contact) return contact;
    const [first] = createErrors.get(phone.e164) ?? [];
    return { path: `contact.${first?.path ?? "phone"}`, message: first?.message ?? "could not be created" };
  });
}

/**
 * Ingests the rows of a batch; `idempotencyKey` (the batch's) makes `${key}:${index}` the identity
 * of a row without its own `id`, so a retried batch creates no second message.
 */
export async function ingestEventBatch(
  ctx: ServiceContext,
  rows: readonly { index: number; input: EventInput }[],
  idempotencyKey: string | undefined,
): Promise<{ accepted: { index: number; event: IngestedEvent }[]; failed: RowFailure[] }> {
  const accepted: { index: number; event: IngestedEvent }[] = [];
  const failed: RowFailure[] = [];
  if (rows.length === 0) return { accepted, failed };
  const resolved = await resolveContacts(
    ctx,
    rows.map((r) => r.input),
  );
  const lookups = eventLookups(ctx);
  for (const [k, { index, input }] of rows.entries()) {
    const contact = resolved[k];
    if (!contact) throw new Error("resolveContacts returned fewer results than rows");
    if ("message" in contact) {
      failed.push({ index, errors: [contact] });
      continue;
    }
    const identity = idempotencyKey
      ? { kind: "batch_row" as const, value: `${idempotencyKey}:${index}` }
      : null;
    try {
      accepted.push({ index, event: await recordEvent(ctx, input, contact, "api", identity, lookups) });
    } catch (err) {
      if (!(err instanceof HttpProblem) || err.status >= 500) throw err;
      const errors = err.errors?.length
        ? err.errors
        : [{ path: err.code === "conflict" ? "id" : "(row)", message: err.message }];
      failed.push({ index, errors });
    }
  }
  return { accepted, failed };
}
