import { and, eq } from "drizzle-orm";
import type { CarrierConfig } from "../../carriers/types";
import { stickySenders } from "../../db/schema";
import type { ServiceContext } from "../context";

/** FNV-1a: a stable spread of phones over the pool for the first pick. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The `from` number a phone gets from this carrier's pool: the one it got before while that
 * number is still in the pool, else a new pick that is remembered. Undefined when the pool is
 * empty (a messaging service picks the sender) or for the implicit sandbox.
 */
export async function stickySender(
  ctx: Pick<ServiceContext, "db">,
  carrier: Pick<CarrierConfig, "id" | "fromNumbers">,
  phone: string,
): Promise<string | undefined> {
  const pool = carrier.fromNumbers ?? [];
  if (pool.length === 0) return undefined;
  if (!carrier.id) return pool[fnv1a(phone) % pool.length];
  const where = and(eq(stickySenders.carrierId, carrier.id), eq(stickySenders.phone, phone));
  const existing = await ctx.db.select().from(stickySenders).where(where).get();
  if (existing && pool.includes(existing.fromNumber)) return existing.fromNumber;
  const pick = pool[fnv1a(phone) % pool.length] ?? pool[0];
  if (!pick) return undefined;
  await ctx.db
    .insert(stickySenders)
    .values({ carrierId: carrier.id, phone, fromNumber: pick })
    .onConflictDoUpdate({ target: [stickySenders.carrierId, stickySenders.phone], set: { fromNumber: pick } })
    .run();
  return pick;
}
