/**
 * Step 2 of creation, pure: the inputs of a chunk and the facts gathered for them → one tagged
 * decision per input, in order. Sending rules 1–5 of PRODUCT.md run here as the predicates of
 * `domain/rules` (no second copy), one guard after another, each stopping at its coded reason:
 *
 *   occurrence (2) → template / body limit → preset → consent (1) → content dedupe (3)
 *   → frequency cap (4) → quiet hours (5) → validity → `scheduled` | `queued`.
 *
 * Inputs of the same call see each other: a queued message counts for the dedupe of the next one,
 * a queued or scheduled marketing message for the next one's cap.
 */

import type { MessageRow } from "../../../db/rows";
import { analyzeBody } from "../../../domain/encoding";
import { bodyLimitError, withFooter } from "../../../domain/message-body";
import {
  type CapCounts,
  consentDenial,
  isDuplicate,
  overFrequencyCap,
  type QuietTenant,
  quietUntil,
  validUntil,
} from "../../../domain/rules";
import { isFloridaOrOklahoma } from "../../../domain/timezones";
import { iso } from "../../../lib/time";
import type { MessageStatus, SuppressionReason } from "../status";
import { type ContactFacts, type CreateFacts, recentKey } from "./gather";
import type { InsertRow, NewMessage } from "./types";

/** What the rules need of the tenant. */
export interface DecideTenant extends QuietTenant {
  optOutFooter: string;
  frequencyCapMax: number;
}

/** The ids a new row gets (minted by the caller, so deciding stays pure). */
export interface RowIds {
  id: string;
  eventId: string;
}

export type Decision =
  /** The occurrence key is taken by a row written before: it is the answer, nothing is written. */
  | { kind: "existing"; message: MessageRow }
  /** An earlier input of this call claimed the same occurrence key: the same answer as that one. */
  | { kind: "alias"; of: number }
  /** A new outbox row, its status and reason decided. */
  | { kind: "new"; row: InsertRow };

interface Verdict {
  status: MessageStatus;
  reason: string | null;
  detail: string | null;
  /** When it may go (its due time, or the end of quiet hours). */
  scheduledMs: number;
  /** Its validity deadline; null for a message that ends here. */
  expiresMs: number | null;
}

const unscheduled = (dueMs: number) => ({ scheduledMs: dueMs, expiresMs: null });

/** Rule 5 and validity, for a message the rules let through: `expired`, `scheduled` or `queued`. */
function timing(
  input: NewMessage,
  contact: ContactFacts | undefined,
  tenant: DecideTenant,
  dueMs: number,
  nowMs: number,
): Verdict {
  const quietEnd = quietUntil(
    {
      quietHours: input.quietHours,
      keywordReply: Boolean(input.keywordReply),
      to: input.to,
      contactTimezone: contact?.timezone,
      contactRegion: contact?.region,
    },
    tenant,
    Math.max(dueMs, nowMs),
  );
  const scheduledMs = quietEnd ?? dueMs;
  const expiresMs = validUntil(scheduledMs, input.validityHours);
  const at = { scheduledMs, expiresMs };
  if (expiresMs <= nowMs)
    return {
      status: "expired",
      reason: null,
      detail: "validity ended before the message was created",
      ...at,
    };
  if (scheduledMs > nowMs) {
    const detail = quietEnd !== null ? `quiet hours until ${iso(scheduledMs)}` : "send_at";
    return { status: "scheduled", reason: null, detail, ...at };
  }
  return { status: "queued", reason: null, detail: null, ...at };
}

/** Decides every input of a chunk; `ids[i]` are the ids of input i's row if it gets one. */
export function decideMessages(
  inputs: readonly NewMessage[],
  facts: CreateFacts,
  tenant: DecideTenant,
  nowMs: number,
  ids: readonly RowIds[],
): Decision[] {
  // The call's own rows count for the next inputs: local copies, the facts stay as gathered.
  const recent = new Map(facts.recent);
  const capCounts = new Map(facts.capCounts);
  const claimed = new Map<string, number>();
  return inputs.map((input, i): Decision => {
    const key = input.occurrenceKey;
    if (key) {
      const existing = facts.taken.get(key);
      if (existing) return { kind: "existing", message: existing };
      const first = claimed.get(key);
      if (first !== undefined) return { kind: "alias", of: first };
      claimed.set(key, i);
    }
    const contact =
      (input.contactId ? facts.contactById.get(input.contactId) : undefined) ??
      facts.contactByPhone.get(input.to);
    const bodyHash = facts.bodyHashes[i] as string;
    const phoneHash = facts.phoneHashes.get(input.to) ?? null;
    const marketing = input.category === "marketing";
    const finalBody =
      marketing && !input.keywordReply ? withFooter(input.body, tenant.optOutFooter) : input.body;
    // No path hands a carrier more than 1,600 characters: such a message fails here, once.
    const templateError = input.templateError ?? bodyLimitError(finalBody);
    const body = templateError ? "" : finalBody;
    const parsedDue = input.sendAt ? Date.parse(input.sendAt) : Number.NaN;
    const dueMs = Number.isNaN(parsedDue) ? nowMs : parsedDue;
    const reason = templateError
      ? null
      : (input.presetSuppression ??
        ruleDenial(input, contact, phoneHash, bodyHash, facts, tenant, recent, capCounts));
    const verdict: Verdict = templateError
      ? {
          status: "failed",
          reason: "template_error",
          detail: `template_error: ${templateError}`,
          ...unscheduled(dueMs),
        }
      : reason
        ? { status: "suppressed", reason, detail: reason, ...unscheduled(dueMs) }
        : timing(input, contact, tenant, dueMs, nowMs);

    if (verdict.status === "queued" || verdict.status === "scheduled") {
      if (verdict.status === "queued") {
        const k = recentKey(input.to, bodyHash);
        recent.set(k, [...(recent.get(k) ?? []), input.programId ?? null]);
      }
      if (marketing) {
        const c = capCounts.get(input.to) ?? { inWindow: 0, inDay: 0 };
        capCounts.set(input.to, { inWindow: c.inWindow + 1, inDay: c.inDay + 1 });
      }
    }

    const analysis = analyzeBody(body);
    const rowIds = ids[i];
    if (!rowIds) throw new Error(`decideMessages: no ids for input ${i}`);
    return {
      kind: "new",
      row: {
        id: rowIds.id,
        event_id_: rowIds.eventId,
        contact_id: input.contactId ?? contact?.id ?? null,
        program_id: input.programId ?? null,
        run_id: input.runId ?? null,
        event_id: input.eventId ?? null,
        occurrence_key: key ?? null,
        to: input.to,
        phone_hash: phoneHash,
        body,
        body_hash: bodyHash,
        encoding: analysis.encoding,
        segments: analysis.segments,
        characters: analysis.characters,
        category: input.category,
        quiet_hours: input.quietHours,
        status: verdict.status,
        status_reason: verdict.reason,
        error_message: templateError,
        detail: verdict.detail,
        scheduled_at: iso(verdict.scheduledMs),
        expires_at: verdict.expiresMs === null ? null : iso(verdict.expiresMs),
        // Due now: its lease runs from now (rule 9: the sweep rings it once that is 2 minutes past).
        next_attempt_at: verdict.status === "queued" ? iso(nowMs) : null,
        carrier_id: input.carrierId ?? null,
        carrier_pinned: input.carrierId ? 1 : 0,
        keyword_reply: input.keywordReply ? 1 : 0,
        from: null,
        sent_at: null,
        attempts: 0,
      },
    };
  });
}

/** Rules 1, 3 and 4, in that order: the first that denies the message names the reason. */
function ruleDenial(
  input: NewMessage,
  contact: ContactFacts | undefined,
  phoneHash: string | null,
  bodyHash: string,
  facts: CreateFacts,
  tenant: DecideTenant,
  recent: ReadonlyMap<string, readonly (string | null)[]>,
  capCounts: ReadonlyMap<string, CapCounts>,
): SuppressionReason | null {
  // Keyword replies answer the person's own text: consent and rules 3–5 do not apply.
  if (input.keywordReply) return null;
  const consent = consentDenial({
    keywordReply: false,
    category: input.category,
    optedOut: contact?.subscribed === false || (phoneHash !== null && facts.suppressedHashes.has(phoneHash)),
    marketingOptIn: contact ? contact.marketingOptIn : null,
  });
  if (consent) return consent;
  if (isDuplicate(recent.get(recentKey(input.to, bodyHash)) ?? [], input.programId ?? null))
    return "duplicate";
  const over = overFrequencyCap({
    category: input.category,
    keywordReply: false,
    counts: capCounts.get(input.to) ?? { inWindow: 0, inDay: 0 },
    max: tenant.frequencyCapMax,
    floridaOrOklahoma: isFloridaOrOklahoma(input.to, contact?.region),
  });
  return over ? "frequency_cap" : null;
}
