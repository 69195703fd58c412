import { desc, eq } from "drizzle-orm";
import { beforeCursor } from "../../db/keyset";
import type { TenantRow } from "../../db/rows";
import { tenants } from "../../db/schema";
import { decodeCursor } from "../../lib/pagination";
import { notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { BaseContext } from "../context";

/**
 * Operator settings: what the deployment's operator (ADMIN_TOKEN) decides for a tenant and the
 * tenant's own keys can read but never change. The tenant id comes from the operator's path, not
 * from an API key: these services act across tenants and only operator routes call them.
 */
export interface OperatorSettingsInput {
  name?: string;
  /** The tenant's share of the deployment: segments per second across all its carriers. */
  mps?: number;
  retention_days?: number;
}

export const DEFAULT_TENANT_MPS = 100;
export const DEFAULT_RETENTION_DAYS = 90;
export const TENANT_MPS_RANGE = { min: 1, max: 10_000 } as const;
export const RETENTION_DAYS_RANGE = { min: 7, max: 3_650 } as const;

const operatorColumns = (input: OperatorSettingsInput): Partial<TenantRow> => ({
  ...(input.name !== undefined && { name: input.name }),
  ...(input.mps !== undefined && { mps: input.mps }),
  ...(input.retention_days !== undefined && { retentionDays: input.retention_days }),
});

/** Every tenant of the deployment, newest first (`limit + 1` rows: the extra one tells a next page). */
export function listTenants({
  ctx,
  input,
}: {
  ctx: BaseContext;
  input: { limit: number; cursor?: string | undefined };
}): Promise<TenantRow[]> {
  const cursor = decodeCursor(input.cursor);
  return ctx.db
    .select()
    .from(tenants)
    .where(beforeCursor(tenants.createdAt, tenants.id, cursor))
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(input.limit + 1)
    .all();
}

export async function getTenantById({ ctx, input }: { ctx: BaseContext; input: { id: string } }) {
  const row = await ctx.db.query.tenants.findFirst({ where: eq(tenants.id, input.id) });
  if (!row) throw notFound("Tenant");
  return row;
}

/** Changes the given operator settings; the dispatcher reads `mps` with every batch it loads. */
export async function updateTenantById({
  ctx,
  input,
}: {
  ctx: BaseContext;
  input: { id: string; settings: OperatorSettingsInput };
}): Promise<TenantRow> {
  const rows = await ctx.db
    .update(tenants)
    .set({ ...operatorColumns(input.settings), updatedAt: nowIso() })
    .where(eq(tenants.id, input.id))
    .returning()
    .all();
  const row = rows[0];
  if (!row) throw notFound("Tenant");
  return row;
}
