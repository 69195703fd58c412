import type { CarrierConfig, SendResult } from "../../carriers/types";
import type { QuietTenant } from "../../domain/rules/quiet-hours";
import type { CarrierRow } from "../../services/carriers/config";

/** Tenant-wide segments per second when the tenant row has none (the operator setting's default). */
export { DEFAULT_TENANT_MPS } from "../../services/tenants/operator";

/** The columns dispatch needs of an outbox row, joined with its contact, program and opt-out. */
export interface OutboxRow {
  id: string;
  tenant_id: string;
  contact_id: string | null;
  program_id: string | null;
  to: string;
  body: string;
  segments: number;
  category: string;
  status: string;
  expires_at: string | null;
  carrier_id: string | null;
  carrier_pinned: boolean;
  attempts: number;
  tried_carrier_ids: string[];
  keyword_reply: boolean;
  phone_hash: string | null;
  /** 1 when the phone is on the tenant's suppression list (by `phone_hash`). */
  suppressed_hash: number | null;
  contact_subscribed: boolean | null;
  contact_marketing_opt_in: boolean | null;
  program_status: string | null;
  exited: number | null;
  quiet_hours: string;
  scheduled_at: string | null;
  contact_timezone: string | null;
  contact_region: string | null;
}

/** Everything a batch's decisions need, from the load step. */
export interface LoadedBatch {
  /** The batch's rows still `queued` (the others were settled by the load). */
  rows: OutboxRow[];
  /** Rows written before messages carried `phone_hash` whose phone is on the suppression list. */
  legacySuppressed: Set<string>;
  tenantMps: Map<string, number>;
  /** Each tenant's zone and quiet window, for the quiet-hours re-check. */
  tenantQuiet: Map<string, QuietTenant>;
  /** Live carriers of each tenant, by ascending priority. */
  activeCarriers: Map<string, CarrierRow[]>;
  /** Pinned carriers of the batch by id, deleted ones included (a deleted pinned carrier fails its messages). */
  pinnedRows: Map<string, CarrierRow>;
  /** Remembered pool numbers: `carrier_id|phone` → from number. */
  sticky: Map<string, string>;
  /** `tenant|event type` pairs some enabled webhook endpoint listens to (most batches: none). */
  listening: Set<string>;
}

/** A message that passed the re-checks and waits for tokens and a carrier call. */
export interface Candidate {
  row: OutboxRow;
  carrier: CarrierConfig;
  /** Where its callback URLs come from; null for the implicit sandbox. */
  callback: CarrierRow | null;
  /** Carriers tried before this attempt. */
  tried: string[];
  /** Tokens it costs (segments, at least 1). */
  cost: number;
}

/** A claimed candidate and the pool number it goes out from (null: the carrier picks). */
export interface Claimed {
  cand: Candidate;
  from: string | null;
}

export interface Sent extends Claimed {
  result: SendResult;
}
