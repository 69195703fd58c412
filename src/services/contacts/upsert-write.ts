/**
 * The write of a contact upsert, as one batch: the multi-row contact upsert
 * (`INSERT … SELECT … FROM json_each(?) ON CONFLICT DO UPDATE`), then the consent records and the
 * suppression changes through consent.ts's statement builders (the one consent SQL path).
 */
import type { ServiceContext } from "../context";
import { consentRecordsStatement, suppressStatement, unsuppressStatement } from "./consent";
import type { ConsentWrite, Plain } from "./upsert-rows";

export interface UpsertWrite {
  /** Contacts to insert or update (merged, `updated_at` set). */
  rows: Plain[];
  consentWrites: ConsentWrite[];
  /** Phone hashes that become / stop being suppressed. */
  suppress: ReadonlySet<string>;
  unsuppress: ReadonlySet<string>;
  hashOf: ReadonlyMap<string, string>;
  /** The final merged row per phone (a consent record links to the contact it ended on). */
  current: ReadonlyMap<string, Plain>;
  now: string;
}

const UPSERT_CONTACTS_SQL = `INSERT INTO contacts (id, tenant_id, phone, first_name, last_name, email, external_id, timezone, locale,
     birthday, attributes, subscribed, marketing_opt_in, unsubscribed_at, created_at, updated_at)
   SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.phone'),
     json_extract(value, '$.first_name'), json_extract(value, '$.last_name'), json_extract(value, '$.email'),
     json_extract(value, '$.external_id'), json_extract(value, '$.timezone'), json_extract(value, '$.locale'),
     json_extract(value, '$.birthday'), json(json_extract(value, '$.attributes')),
     json_extract(value, '$.subscribed'), json_extract(value, '$.marketing_opt_in'),
     json_extract(value, '$.unsubscribed_at'), json_extract(value, '$.created_at'),
     json_extract(value, '$.updated_at')
   FROM json_each(?2) WHERE true
   ON CONFLICT (tenant_id, phone) DO UPDATE SET
     first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email,
     external_id = excluded.external_id, timezone = excluded.timezone, locale = excluded.locale,
     birthday = excluded.birthday, attributes = excluded.attributes, subscribed = excluded.subscribed,
     marketing_opt_in = excluded.marketing_opt_in, unsubscribed_at = excluded.unsubscribed_at,
     updated_at = excluded.updated_at`;

/** The statements of one upsert's write, to run in one `db.batch()`. */
export function upsertWriteStatements(ctx: ServiceContext, w: UpsertWrite): D1PreparedStatement[] {
  const upsertJson = JSON.stringify(
    w.rows.map((r) => ({
      id: r.id,
      phone: r.phone,
      first_name: r.firstName,
      last_name: r.lastName,
      email: r.email,
      external_id: r.externalId,
      timezone: r.timezone,
      locale: r.locale,
      birthday: r.birthday,
      attributes: r.attributes,
      subscribed: r.subscribed ? 1 : 0,
      marketing_opt_in: r.marketingOptIn ? 1 : 0,
      unsubscribed_at: r.unsubscribedAt,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
    })),
  );
  return [
    ctx.env.DB.prepare(UPSERT_CONTACTS_SQL).bind(ctx.tenantId, upsertJson),
    consentRecordsStatement(
      ctx,
      w.consentWrites.map((c) => ({
        contactId: w.current.get(c.phone)?.id ?? c.contactId,
        phoneHash: w.hashOf.get(c.phone) ?? "",
        change: c.change,
        source: c.source,
        declaredSource: c.declaredSource,
        text: c.text,
        at: c.at,
      })),
    ),
    suppressStatement(ctx, [...w.suppress], w.now),
    unsuppressStatement(ctx, [...w.unsuppress]),
  ];
}
