import type { CarrierConfig, Provider } from "../../carriers/types";
import { notFound } from "../../lib/problem";
import { type BaseContext, forTenant, type ServiceContext } from "../context";
import { type CarrierRow, findCarrierForCallback, loadCarrierConfig } from "./config";

export interface CallbackCarrier {
  row: CarrierRow;
  config: CarrierConfig;
  /** The request's services acting for the carrier's tenant. */
  ctx: ServiceContext;
}

/**
 * The carrier a callback URL names, deleted or not (a deleted carrier's callbacks still verify),
 * with its credentials decrypted and the request's services acting for its tenant: a callback
 * carries no API key, so the carrier is what names the tenant. 404 when unknown or of another
 * provider.
 */
export async function callbackCarrier(
  base: BaseContext,
  provider: Provider,
  carrierId: string,
): Promise<CallbackCarrier> {
  const row = await findCarrierForCallback(base, carrierId);
  if (!row || row.provider !== provider) throw notFound("Carrier");
  const ctx = forTenant(base, row.tenantId);
  return { row, config: await loadCarrierConfig(ctx, row), ctx };
}
