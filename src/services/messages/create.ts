import type { messages } from "../../db/schema";
import type { ServiceContext } from "../context";

export type MessageRow = typeof messages.$inferSelect;

/** One message to create. The one way to create a message: API sends, programs, events, /run, keyword replies. */
export interface NewMessage {
  /** E.164 recipient. */
  to: string;
  contactId: string | null;
  /** Rendered body, without the opt-out footer (added here for marketing when the body doesn't mention STOP). */
  body: string;
  category: "transactional" | "marketing";
  quietHours: "enforce" | "ignore";
  /** When it is due (ISO); absent = now. */
  sendAt?: string;
  /** Not handed to a carrier within this many hours of its due time (or the end of quiet hours) → expired. */
  validityHours: number;
  programId?: string | null;
  /** Unique per tenant: a second create with the same key returns the first row and does nothing. */
  occurrenceKey?: string | null;
  runId?: string | null;
  eventId?: string | null;
  /** Pins the carrier (no failover to others). */
  carrierId?: string | null;
  /** Keyword replies (STOP/HELP/START confirmations) skip consent and rules 3–5. */
  keywordReply?: boolean;
  /** A status decided by the caller before the rules run (e.g. `suppressed` / `missing_data`, `exited`). */
  presetSuppression?: "missing_data" | "exited" | "invalid_number";
}

export interface CreatedMessage {
  message: MessageRow;
  /** false when the occurrence key already existed (nothing new was written). */
  created: boolean;
}

/**
 * Applies sending rules 1–5 (consent, occurrence dedupe, content dedupe, frequency cap, quiet hours),
 * writes the outbox rows in as few statements as D1 allows, then enqueues the `queued` ones.
 * PLACEHOLDER until the sending work lands (issue 3).
 */
export async function createMessages(_ctx: ServiceContext, _inputs: NewMessage[]): Promise<CreatedMessage[]> {
  throw new Error("createMessages: not implemented yet");
}
