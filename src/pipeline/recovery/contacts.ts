/**
 * Recovery of `contact.created` work (PRODUCT.md: acknowledged means durable). A contact row is
 * written before its creation's programs run (welcome, prospect) and its date triggers are armed;
 * `created_fired_at` marks that work done. When the process died or a binding failed in between,
 * the mark is missing: the next write of the contact finishes it, and so does this sweep, for
 * contacts created more than `LEASE_MS` ago (a creation still in flight is left alone).
 * Running it again is safe: the occurrence key of a creation sends nothing twice.
 */
import { and, asc, isNull, lt } from "drizzle-orm";
import { createDb } from "../../db/client";
import { contacts } from "../../db/schema";
import { leaseCutoff } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { serviceContext } from "../../services/context";
import { fireContactCreated } from "../../services/events/contact-created";
import { logTickFailure } from "../scheduler/parts";

/** Contacts finished per tick (the rest wait a tick; the partial index keeps the read cheap). */
const SWEEP_LIMIT = 500;

export async function sweepUnfiredContacts(env: Env, now: number): Promise<number> {
  const rows = await createDb(env.DB)
    .select()
    .from(contacts)
    .where(and(isNull(contacts.createdFiredAt), lt(contacts.createdAt, leaseCutoff(now))))
    .orderBy(asc(contacts.createdAt))
    .limit(SWEEP_LIMIT)
    .all();
  const byTenant = new Map<string, (typeof rows)[number][]>();
  for (const r of rows) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r]);
  let finished = 0;
  for (const [tenantId, list] of byTenant) {
    try {
      await fireContactCreated(serviceContext(env, tenantId), list);
      finished += list.length;
    } catch (err) {
      // One tenant's failure never holds another's recovery; its contacts are tried next tick.
      logTickFailure({ part: "contact_created_sweep", tenant_id: tenantId }, err);
    }
  }
  return finished;
}
