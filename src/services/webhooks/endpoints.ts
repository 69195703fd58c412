import { and, desc, eq, isNull } from "drizzle-orm";
import { beforeCursor, newestFirstPage } from "../../db/keyset";
import { webhookDeliveries, webhookEndpoints } from "../../db/schema";
import { generateStandardSecret } from "../../domain/signatures";
import { checkOutboundUrl } from "../../domain/url-guard";
import { isProduction } from "../../env";
import { encryptSecret } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { decodeCursor } from "../../lib/pagination";
import { invalidField, notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import type { WebhookEventType } from "./emit";

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

function guardUrl(ctx: ServiceContext, url: string): void {
  const refused = checkOutboundUrl(url, { production: isProduction(ctx.env) });
  if (refused) throw invalidField("url", refused);
}

/** Creates an endpoint with a fresh `whsec_` secret (returned once). */
export async function createWebhookEndpoint(
  ctx: ServiceContext,
  input: { url: string; events: WebhookEventType[] },
): Promise<{ row: WebhookEndpointRow; secret: string }> {
  guardUrl(ctx, input.url);
  const secret = generateStandardSecret();
  const now = nowIso();
  const row: WebhookEndpointRow = {
    id: newId("webhookEndpoint"),
    tenantId: ctx.tenantId,
    url: input.url,
    events: [...new Set(input.events)],
    secretSealed: await encryptSecret(ctx.env.ENCRYPTION_KEY, secret),
    status: "enabled",
    disabledReason: null,
    consecutiveFailures: 0,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.db.insert(webhookEndpoints).values(row).run();
  return { row, secret };
}

export async function getWebhookEndpoint(ctx: ServiceContext, id: string): Promise<WebhookEndpointRow> {
  const row = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, ctx.tenantId),
        eq(webhookEndpoints.id, id),
        isNull(webhookEndpoints.deletedAt),
      ),
    )
    .get();
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

export async function listWebhookEndpoints(ctx: ServiceContext, input: { limit: number; cursor?: string }) {
  return newestFirstPage(ctx.db, webhookEndpoints, ctx.tenantId, input, isNull(webhookEndpoints.deletedAt));
}

/** Changes url/events; `status: "enabled"` re-enables a disabled endpoint and clears its failure count. */
export async function updateWebhookEndpoint(
  ctx: ServiceContext,
  id: string,
  input: { url?: string; events?: WebhookEventType[]; status?: "enabled" | "disabled" },
): Promise<WebhookEndpointRow> {
  const current = await getWebhookEndpoint(ctx, id);
  if (input.url !== undefined) guardUrl(ctx, input.url);
  const set: Partial<WebhookEndpointRow> = { updatedAt: nowIso() };
  if (input.url !== undefined) set.url = input.url;
  if (input.events !== undefined) set.events = [...new Set(input.events)];
  if (input.status === "enabled" && current.status !== "enabled") {
    Object.assign(set, { status: "enabled", disabledReason: null, consecutiveFailures: 0 });
  } else if (input.status === "disabled" && current.status !== "disabled") {
    Object.assign(set, { status: "disabled", disabledReason: "Disabled through the API" });
  }
  const [row] = await ctx.db
    .update(webhookEndpoints)
    .set(set)
    .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.id, id)))
    .returning()
    .all();
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

/** Deletes an endpoint; its pending deliveries fail at their next attempt. */
export async function deleteWebhookEndpoint(ctx: ServiceContext, id: string): Promise<void> {
  const now = nowIso();
  const res = await ctx.db
    .update(webhookEndpoints)
    .set({ deletedAt: now, updatedAt: now })
    .where(
      and(
        eq(webhookEndpoints.tenantId, ctx.tenantId),
        eq(webhookEndpoints.id, id),
        isNull(webhookEndpoints.deletedAt),
      ),
    )
    .returning({ id: webhookEndpoints.id })
    .all();
  if (res.length === 0) throw notFound("Webhook endpoint");
}

/** The delivery log of one endpoint, newest first. */
export async function listWebhookDeliveries(
  ctx: ServiceContext,
  endpointId: string,
  input: { limit: number; cursor?: string },
): Promise<WebhookDeliveryRow[]> {
  await getWebhookEndpoint(ctx, endpointId);
  const cursor = decodeCursor(input.cursor);
  return ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.tenantId, ctx.tenantId),
        eq(webhookDeliveries.endpointId, endpointId),
        beforeCursor(webhookDeliveries.createdAt, webhookDeliveries.id, cursor),
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(input.limit + 1)
    .all();
}
