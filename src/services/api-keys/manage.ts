import { and, eq } from "drizzle-orm";
import { newestFirstPage } from "../../db/keyset";
import { apiKeys } from "../../db/schema";
import type { AuthContext } from "../../env";
import { newId } from "../../lib/ids";
import { HttpProblem, notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import { hasScope } from "../../middleware/auth";
import type { ServiceContext } from "../context";
import { generateApiKey } from "./keys";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function createApiKey({
  ctx,
  input,
  caller,
}: {
  ctx: ServiceContext;
  input: { name: string; scopes?: string[] };
  caller?: AuthContext;
}): Promise<{ row: ApiKeyRow; key: string }> {
  const scopes = [...new Set(input.scopes ?? ["*"])];
  if (caller) {
    const beyond = scopes.filter((s) => !hasScope(caller, s) || (s === "*" && !caller.scopes.includes("*")));
    if (beyond.length > 0) {
      throw new HttpProblem("forbidden", `A key may only grant scopes it has: ${beyond.join(", ")}`);
    }
  }
  const { key, prefix, hashPromise } = generateApiKey();
  const now = nowIso();
  const row: ApiKeyRow = {
    id: newId("apiKey"),
    tenantId: ctx.tenantId,
    name: input.name,
    prefix,
    hash: await hashPromise,
    scopes,
    lastUsedAt: null,
    revokedAt: null,
    createdAt: now,
  };
  return { row, key };
}

export async function insertApiKey(
  ctx: ServiceContext,
  input: { name: string; scopes?: string[] },
  caller?: AuthContext,
) {
  const created = await createApiKey({ ctx, input, caller });
  await ctx.db.insert(apiKeys).values(created.row).run();
  return created;
}

export async function listApiKeys({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string };
}) {
  return newestFirstPage(ctx.db, apiKeys, ctx.tenantId, input);
}

export async function revokeApiKey({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string };
}): Promise<void> {
  const res = await ctx.db
    .update(apiKeys)
    .set({ revokedAt: nowIso() })
    .where(and(eq(apiKeys.id, input.id), eq(apiKeys.tenantId, ctx.tenantId)))
    .returning({ id: apiKeys.id })
    .all();
  if (res.length === 0) throw notFound("API key");
}
