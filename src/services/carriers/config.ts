import { and, asc, eq, isNull } from "drizzle-orm";
import type { CarrierConfig } from "../../carriers/types";
import { carriers } from "../../db/schema";
import { isProduction } from "../../env";
import { decryptSecret } from "../../lib/crypto";
import type { ServiceContext } from "../context";
import { callbackTokenFor } from "./callback-token";

export type CarrierRow = typeof carriers.$inferSelect;

/** The row with its credentials decrypted, ready for an adapter or a callback check. */
export async function loadCarrierConfig(
  ctx: Pick<ServiceContext, "env">,
  row: CarrierRow,
): Promise<CarrierConfig> {
  const credentials: Record<string, string> = row.credentialsSealed
    ? (JSON.parse(await decryptSecret(ctx.env.ENCRYPTION_KEY, row.credentialsSealed)) as Record<
        string,
        string
      >)
    : {};
  const callbackToken = await callbackTokenFor(ctx.env, row);
  return {
    id: row.id,
    provider: row.provider,
    baseUrl: row.baseUrl,
    credentials,
    fromNumbers: row.fromNumbers,
    messagingServiceSid: row.messagingServiceSid,
    mps: row.mps,
    priority: row.priority,
    tenantId: row.tenantId,
    callbackOrigin: row.callbackOrigin,
    outbound: { production: isProduction(ctx.env) },
    ...(callbackToken ? { callbackToken } : {}),
  };
}

/** The tenant's carriers in the order the dispatcher tries them: priority ascending, then oldest first. */
export async function listActiveCarriers(ctx: ServiceContext): Promise<CarrierRow[]> {
  return ctx.db
    .select()
    .from(carriers)
    .where(and(eq(carriers.tenantId, ctx.tenantId), isNull(carriers.deletedAt)))
    .orderBy(asc(carriers.priority), asc(carriers.createdAt), asc(carriers.id))
    .all();
}

/** One live carrier of the tenant, or undefined (deleted carriers are gone for the API). */
export async function findCarrier(ctx: ServiceContext, id: string): Promise<CarrierRow | undefined> {
  return ctx.db
    .select()
    .from(carriers)
    .where(and(eq(carriers.id, id), eq(carriers.tenantId, ctx.tenantId), isNull(carriers.deletedAt)))
    .get();
}

/**
 * A carrier by id alone, deleted or not: callbacks name only the carrier, and a deleted
 * carrier's callbacks must still verify.
 */
export async function findCarrierForCallback(ctx: Pick<ServiceContext, "db">, id: string) {
  return ctx.db.select().from(carriers).where(eq(carriers.id, id)).get();
}
