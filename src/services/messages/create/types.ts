import type { MessageRow } from "../../../db/rows";
import type { MessageStatus } from "../status";

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
  /**
   * The template could not make a body (PRODUCT.md, Messages: past Herald's limits or 1,600
   * characters): the message is written `failed / template_error` with this as `error_message`,
   * recorded once for its occurrence and never enqueued.
   */
  templateError?: string;
}

export interface CreatedMessage {
  message: MessageRow;
  /** false when the occurrence key already existed (nothing new was written). */
  created: boolean;
}

/** The JSON shape of one row for the bulk INSERT (snake_case = column names). */
export interface InsertRow {
  id: string;
  event_id_: string;
  contact_id: string | null;
  program_id: string | null;
  run_id: string | null;
  event_id: string | null;
  occurrence_key: string | null;
  to: string;
  phone_hash: string | null;
  body: string;
  body_hash: string;
  encoding: string;
  segments: number;
  characters: number;
  category: string;
  quiet_hours: string;
  status: MessageStatus;
  status_reason: string | null;
  error_message: string | null;
  detail: string | null;
  scheduled_at: string | null;
  expires_at: string | null;
  next_attempt_at: string | null;
  carrier_id: string | null;
  carrier_pinned: number;
  keyword_reply: number;
  from: string | null;
  sent_at: string | null;
  attempts: number;
}
