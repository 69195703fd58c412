import { IMPLICIT_SANDBOX } from "../../carriers/registry";
import type { CarrierConfig } from "../../carriers/types";
import type { Env } from "../../env";
import { type CarrierRow, loadCarrierConfig } from "../../services/carriers/config";
import { type Recheck, triedCarriers } from "./recheck";
import type { Candidate, OutboxRow } from "./types";

/** A carrier ready to send: its decrypted config and the row its callback URLs come from (null: implicit sandbox). */
interface Route {
  config: CarrierConfig;
  row: CarrierRow | null;
}

const SANDBOX: Route = { config: IMPLICIT_SANDBOX, row: null };

/**
 * Decrypted carrier configs, per isolate, keyed by id and invalidated by `updated_at`: a batch
 * should not pay an AES-GCM decrypt per carrier per batch.
 */
const configCache = new Map<string, { updatedAt: string; route: Route }>();

async function routeFor(env: Env, row: CarrierRow): Promise<Route> {
  const hit = configCache.get(row.id);
  if (hit && hit.updatedAt === row.updatedAt) return hit.route;
  const route = { config: await loadCarrierConfig({ env }, row), row };
  if (configCache.size > 1000) configCache.clear();
  configCache.set(row.id, { updatedAt: row.updatedAt, route });
  return route;
}

/** Step 4: each row the re-check let go on, with the carrier it chose ready to call, and what it costs. */
export async function route(env: Env, decided: { row: OutboxRow; check: Recheck }[]): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  for (const { row, check } of decided) {
    if (check.kind !== "go") continue;
    const r = check.carrier ? await routeFor(env, check.carrier) : SANDBOX;
    candidates.push({
      row,
      carrier: r.config,
      callback: r.row,
      tried: triedCarriers(row.tried_carrier_ids),
      cost: Math.max(1, row.segments),
    });
  }
  return candidates;
}
