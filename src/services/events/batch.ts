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
import { type ContactRow, type RawRow, rowFromRaw } from "../../db/rows";
import { contacts, events, tenants } from "../../db/schema";
import { normalizePhone } from "../../domain/phone";
import type { RowFailure } from "../../lib/batch";
import { derivedId, newId } from "../../lib/ids";
import type { FieldError } from "../../lib/problem";
import { iso, nowIso } from "../../lib/time";
import { upsertContacts } from "../contacts/upsert";
import type { ServiceContext } from "../context";
import {
  applyExits,
  type EventIdentity,
  type EventInput,
  eventLookups,
  type IngestedEvent,
  runEventProgramsMany,
} from "./ingest";

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

/** Rows per INSERT statement (all of them go in one round trip). */
const INSERT_CHUNK = 100;

// One statement per chunk: new events are inserted, known ones returned as first stored (as
// `recordEvent` does for one). `WHERE true` lets SQLite read the upsert after a SELECT.
const INSERT_EVENTS_SQL = `INSERT INTO events (id, tenant_id, name, contact_id, data, occurred_at, source, created_at)
  SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.name'), json_extract(value, '$.contact_id'),
         json_extract(value, '$.data'), json_extract(value, '$.occurred_at'), 'api', ?2
  FROM json_each(?3) WHERE true
  ON CONFLICT (id) DO UPDATE SET id = events.id
  RETURNING *`;

type EventRow = typeof events.$inferSelect;

interface Row {
  index: number;
  input: EventInput;
  contact: ContactRow;
  id: string;
  identity: NonNullable<EventIdentity>["kind"] | null;
}

/** Stores the events of `rows` in one round trip; the stored row of each id. */
async function insertEvents(ctx: ServiceContext, rows: readonly Row[], now: string) {
  const payload = rows.map((r) => {
    const occurredMs = r.input.occurred_at ? Date.parse(r.input.occurred_at) : Number.NaN;
    return {
      id: r.id,
      name: r.input.name,
      contact_id: r.contact.id,
      data: JSON.stringify(r.input.data ?? {}),
      occurred_at: Number.isFinite(occurredMs) ? iso(occurredMs) : now,
    };
  });
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < payload.length; i += INSERT_CHUNK)
    statements.push(
      ctx.env.DB.prepare(INSERT_EVENTS_SQL).bind(
        ctx.tenantId,
        now,
        JSON.stringify(payload.slice(i, i + INSERT_CHUNK)),
      ),
    );
  const results = await ctx.env.DB.batch<RawRow>(statements);
  const stored = new Map<string, EventRow>();
  for (const r of results) for (const raw of r.results) stored.set(String(raw.id), rowFromRaw(events, raw));
  return stored;
}

/**
 * Ingests the rows of a batch; `idempotencyKey` (the batch's) makes `${key}:${index}` the identity
 * of a row without its own `id`, so a retried batch creates no second message. Events are stored
 * in one round trip; then the rows run in input order, consecutive rows of one name and distinct
 * contacts together: their `exit_on` first (one upsert and one cancel per exiting program), then
 * their programs (`runEventProgramsMany`: one audience read and one `createMessages` per program).
 * Rows of distinct contacts never interact (dedupe and cap are per phone), so this gives the
 * outcomes the same events sent one by one would get; a repeated contact or another name starts
 * a new group.
 */
export async function ingestEventBatch(
  ctx: ServiceContext,
  inputs: readonly { index: number; input: EventInput }[],
  idempotencyKey: string | undefined,
): Promise<{ accepted: { index: number; event: IngestedEvent }[]; failed: RowFailure[] }> {
  const accepted: { index: number; event: IngestedEvent }[] = [];
  const failed: RowFailure[] = [];
  if (inputs.length === 0) return { accepted, failed };
  const resolved = await resolveContacts(
    ctx,
    inputs.map((r) => r.input),
  );
  const rows: Row[] = [];
  for (const [k, { index, input }] of inputs.entries()) {
    const contact = resolved[k];
    if (!contact) throw new Error("resolveContacts returned fewer results than rows");
    if ("message" in contact) {
      failed.push({ index, errors: [contact] });
      continue;
    }
    const identity: EventIdentity = input.id
      ? { kind: "id", value: input.id }
      : idempotencyKey
        ? { kind: "batch_row", value: `${idempotencyKey}:${index}` }
        : null;
    const id = identity
      ? await derivedId("event", ctx.tenantId, identity.kind, identity.value)
      : newId("event");
    rows.push({ index, input, contact, id, identity: identity?.kind ?? null });
  }
  if (rows.length === 0) return { accepted, failed };
  const stored = await insertEvents(ctx, rows, nowIso());

  const lookups = eventLookups(ctx);
  let group: { row: Row; event: EventRow }[] = [];
  let groupContacts = new Set<string>();
  const flush = async () => {
    const first = group[0];
    if (!first) return;
    const name = first.row.input.name;
    await applyExits(
      ctx,
      name,
      group.map(({ row }) => ({ contact: row.contact, eventId: row.id })),
      lookups,
    );
    const outcomes = await runEventProgramsMany(
      ctx,
      name,
      group.map(({ row, event }) => ({
        contact: row.contact,
        occurrence: { id: row.id, key: row.id, at: event.occurredAt, data: event.data },
      })),
      lookups,
    );
    for (const [k, { row }] of group.entries())
      accepted.push({
        index: row.index,
        event: { id: row.id, name, contact_id: row.contact.id, programs: outcomes[k] ?? [] },
      });
    group = [];
    groupContacts = new Set();
  };
  for (const row of rows) {
    const event = stored.get(row.id);
    if (!event) throw new Error(`event ${row.id} was neither inserted nor found`);
    if (event.name !== row.input.name || event.contactId !== row.contact.id) {
      const message =
        row.identity === "id"
          ? "An event with this id was already reported with another name or contact"
          : "This event was already reported with another name or contact";
      failed.push({ index: row.index, errors: [{ path: "id", message }] });
      continue;
    }
    const first = group[0];
    const joins = !first || (first.row.input.name === row.input.name && !groupContacts.has(row.contact.id));
    if (!joins) await flush();
    group.push({ row, event });
    groupContacts.add(row.contact.id);
  }
  await flush();
  accepted.sort((a, b) => a.index - b.index);
  failed.sort((a, b) => a.index - b.index);
  return { accepted, failed };
}
