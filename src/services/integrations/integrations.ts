import { and, eq, isNull } from "drizzle-orm";
import { newestFirstPage } from "../../db/keyset";
import { integrations } from "../../db/schema";
import { generateStandardSecret } from "../../domain/signatures";
import { type Env, isProduction } from "../../env";
import { decryptSecret, encryptSecret } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { HttpProblem, notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";

export type IntegrationRow = typeof integrations.$inferSelect;

export type CreateIntegrationInput =
  | { type: "shopify"; shop_domain: string; webhook_secret: string }
  | { type: "standard" };

/**
 * The origin hook URLs are built from: PUBLIC_BASE_URL, or in development the origin of the
 * request (so `wrangler dev` hands out URLs that work on this machine). Production without it →
 * 422 naming PUBLIC_BASE_URL, as for carriers' callback URLs (a plain `wrangler deploy` is
 * production, so this is the answer a deployment that forgot it gets).
 */
export function publicOrigin(env: Pick<Env, "PUBLIC_BASE_URL" | "ENVIRONMENT">, requestUrl: string): string {
  const configured = env.PUBLIC_BASE_URL?.trim().replace(/\/+$/, "");
  if (configured) return configured;
  if (isProduction(env)) {
    throw new HttpProblem(
      "validation_failed",
      "PUBLIC_BASE_URL must be set in production to build hook URLs",
      [
        {
          path: "PUBLIC_BASE_URL",
          message: "must be set in production (the origin storefronts post hooks to)",
        },
      ],
    );
  }
  return new URL(requestUrl).origin;
}

export const hookUrl = (origin: string, id: string): string => `${origin}/hooks/${id}`;

/** Creates an integration; a standard one gets a generated `whsec_` secret, returned once. */
export async function createIntegration(
  ctx: ServiceContext,
  input: CreateIntegrationInput,
): Promise<{ row: IntegrationRow; secret: string | null }> {
  const now = nowIso();
  const secret = input.type === "standard" ? generateStandardSecret() : input.webhook_secret;
  const row: IntegrationRow = {
    id: newId("integration"),
    tenantId: ctx.tenantId,
    type: input.type,
    shopDomain: input.type === "shopify" ? input.shop_domain.toLowerCase() : null,
    secretSealed: await encryptSecret(ctx.env.ENCRYPTION_KEY, secret),
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.db.insert(integrations).values(row).run();
  return { row, secret: input.type === "standard" ? secret : null };
}

export async function getIntegration(ctx: ServiceContext, id: string): Promise<IntegrationRow> {
  const row = await ctx.db
    .select()
    .from(integrations)
    .where(
      and(eq(integrations.tenantId, ctx.tenantId), eq(integrations.id, id), isNull(integrations.deletedAt)),
    )
    .get();
  if (!row) throw notFound("Integration");
  return row;
}

export async function listIntegrations(ctx: ServiceContext, input: { limit: number; cursor?: string }) {
  return newestFirstPage(ctx.db, integrations, ctx.tenantId, input, isNull(integrations.deletedAt));
}

/** Deletes an integration: its hook URL answers 404 from then on. */
export async function deleteIntegration(ctx: ServiceContext, id: string): Promise<void> {
  const now = nowIso();
  const res = await ctx.db
    .update(integrations)
    .set({ deletedAt: now, updatedAt: now })
    .where(
      and(eq(integrations.tenantId, ctx.tenantId), eq(integrations.id, id), isNull(integrations.deletedAt)),
    )
    .returning({ id: integrations.id })
    .all();
  if (res.length === 0) throw notFound("Integration");
}

/** Looks an integration up by its hook URL id alone (hooks carry no API key). */
export async function findIntegrationForHook(
  env: Env,
  id: string,
): Promise<{ row: IntegrationRow; secret: string } | null> {
  const row = await env.DB.prepare(
    "SELECT id, tenant_id, type, shop_domain, secret_sealed, created_at FROM integrations WHERE id = ? AND deleted_at IS NULL",
  )
    .bind(id)
    .first<{
      id: string;
      tenant_id: string;
      type: "shopify" | "standard";
      shop_domain: string | null;
      secret_sealed: string;
      created_at: string;
    }>();
  if (!row) return null;
  return {
    row: {
      id: row.id,
      tenantId: row.tenant_id,
      type: row.type,
      shopDomain: row.shop_domain,
      secretSealed: row.secret_sealed,
      deletedAt: null,
      createdAt: row.created_at,
      updatedAt: row.created_at,
    },
    secret: await decryptSecret(env.ENCRYPTION_KEY, row.secret_sealed),
  };
}
