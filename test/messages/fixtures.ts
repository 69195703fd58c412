import { env } from "cloudflare:workers";
import { createDb } from "../../src/db/client";
import { contacts, suppressions } from "../../src/db/schema";
import { phoneHash } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { nowIso } from "../../src/lib/time";

export interface ContactSeed {
  phone: string;
  timezone?: string | null;
  subscribed?: boolean;
  marketingOptIn?: boolean;
  firstName?: string | null;
  attributes?: Record<string, string | number | boolean>;
}

/** A contact row written straight to D1 (the state a contacts API write would leave). */
export async function seedContact(tenantId: string, seed: ContactSeed): Promise<string> {
  const id = newId("contact");
  const now = nowIso();
  await createDb(env.DB)
    .insert(contacts)
    .values({
      id,
      tenantId,
      phone: seed.phone,
      firstName: seed.firstName ?? null,
      timezone: seed.timezone ?? null,
      subscribed: seed.subscribed ?? true,
      marketingOptIn: seed.marketingOptIn ?? true,
      unsubscribedAt: seed.subscribed === false ? now : null,
      attributes: seed.attributes ?? {},
      createdAt: now,
      updatedAt: now,
    });
  return id;
}

/** A kept opt-out by phone hash (what STOP or a deleted-but-unsubscribed contact leaves). */
export async function seedSuppression(tenantId: string, phone: string): Promise<void> {
  await createDb(env.DB)
    .insert(suppressions)
    .values({
      tenantId,
      phoneHash: await phoneHash(env.ENCRYPTION_KEY, tenantId, phone),
      reason: "stop",
      createdAt: nowIso(),
    });
}
