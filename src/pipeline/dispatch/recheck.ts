import { chooseCarrier } from "../../domain/rules/carrier-choice";
import { consentDenial } from "../../domain/rules/consent";
import { programHold } from "../../domain/rules/program-state";
import { quietUntil } from "../../domain/rules/quiet-hours";
import { validityEnded } from "../../domain/rules/validity";
import type { CarrierRow } from "../../services/carriers/config";
import type { DispatchFinal } from "../../services/messages/dispatch-writes";
import type { LoadedBatch, OutboxRow } from "./types";

/** What the re-check decides for one queued row just before the carrier call. */
export type Recheck =
  /** A final state now, no carrier call. */
  | { kind: "final"; final: DispatchFinal }
  /** Its program is paused: the row waits, untouched, until it resumes. */
  | { kind: "paused" }
  /** Rule 5: back to `scheduled` for the first allowed minute. */
  | { kind: "quiet"; until: number }
  /** On to the carrier (null: the implicit sandbox). */
  | { kind: "go"; carrier: CarrierRow | null };

export const triedCarriers = (raw: unknown): string[] =>
  Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string") : [];

/**
 * Step 2, pure: the sending rules that can have changed since creation, in order — validity, the
 * program's state, consent (rule 1), the carrier (rule 7), quiet hours (rule 5) — the first that
 * speaks decides. The same predicates as at creation (`domain/rules`).
 */
export function recheck(row: OutboxRow, batch: LoadedBatch, now: number): Recheck {
  if (validityEnded(row.expires_at, now))
    return { kind: "final", final: { to: "expired", reason: "validity_ended" } };

  const hold = programHold(row.program_status, Boolean(row.exited));
  if (hold === "program_paused") return { kind: "paused" };
  if (hold === "program_archived") return { kind: "final", final: { to: "canceled", reason: hold } };
  if (hold === "exited") return { kind: "final", final: { to: "suppressed", reason: hold } };

  const denial = consentDenial({
    keywordReply: row.keyword_reply,
    category: row.category,
    optedOut:
      row.contact_subscribed === false || row.suppressed_hash === 1 || batch.legacySuppressed.has(row.id),
    // No contact (never had one, or erased since): no opt-in.
    marketingOptIn: row.contact_marketing_opt_in === null ? null : Boolean(row.contact_marketing_opt_in),
  });
  if (denial) return { kind: "final", final: { to: "suppressed", reason: denial } };

  const choice = chooseCarrier({
    tenantId: row.tenant_id,
    pinned: row.carrier_pinned && row.carrier_id ? batch.pinnedRows.get(row.carrier_id) : null,
    active: batch.activeCarriers.get(row.tenant_id) ?? [],
    tried: triedCarriers(row.tried_carrier_ids),
  });
  if (choice.kind === "pinned_carrier_deleted")
    return { kind: "final", final: { to: "failed", reason: "carrier_deleted" } };

  const until = quietUntil(quietRecipient(row), batch.tenantQuiet.get(row.tenant_id), now);
  if (until !== null) return { kind: "quiet", until };
  return { kind: "go", carrier: choice.kind === "carrier" ? choice.carrier : null };
}

/** What the quiet-hours rule needs of a row (also asked again by the pace step after a wait). */
export const quietRecipient = (row: OutboxRow) => ({
  quietHours: row.quiet_hours,
  keywordReply: row.keyword_reply,
  to: row.to,
  contactTimezone: row.contact_timezone,
  contactRegion: row.contact_region,
});
