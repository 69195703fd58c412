/**
 * Sending rule 9 (recovery), and its twins for storefront hooks, outbound webhooks, run and due-row
 * build cursors, and the pages of due occurrences the scheduler tick hands to the work queue: D1 is the truth, the queue only a doorbell. Every unfinished row carries a lease —
 * the time its work is (next) due (`next_attempt_at`, `lease_until`):
 * - work due now is leased `now` (a new queued message, a hook just received, a re-rung row);
 * - a holder that claims a row makes it due again `LEASE_MS` later (`claimedLease`), so a
 *   redelivered job leaves it alone while the holder works, and takes it over once that is past;
 * - rows waiting on purpose (tokens, a retry, a paused program) are due when they come back;
 * - a lease more than `LEASE_MS` past lost its doorbell (the queue message was lost, the process
 *   died): the scheduler's sweep rings again (`leaseCutoff`).
 *
 * One duration for every lease in Herald: rule 9's 2 minutes.
 */
export const LEASE_MS = 120_000;

/**
 * The lease a holder writes when it claims a row at `now`: due again `LEASE_MS` later.
 *
 * @example claimedLease(Date.parse("2026-12-01T10:00:00Z")) // "2026-12-01T10:02:00.000Z"
 */
export const claimedLease = (now: number): string => new Date(now + LEASE_MS).toISOString();

/**
 * The cut-off of the sweeps: leases before this instant ran out more than `LEASE_MS` ago.
 *
 * @example leaseCutoff(Date.parse("2026-12-01T10:05:00Z")) // "2026-12-01T10:03:00.000Z"
 */
export const leaseCutoff = (now: number): string => new Date(now - LEASE_MS).toISOString();

/**
 * Whether a row with this lease lost its doorbell at `now` (true for a null lease only when the row
 * itself was last touched before the cut-off: `touchedAt`).
 *
 * @example leaseRanOut("2026-12-01T10:00:00Z", null, Date.parse("2026-12-01T10:02:01Z")) // true
 */
export function leaseRanOut(lease: string | null, touchedAt: string | null, now: number): boolean {
  const at = lease ?? touchedAt;
  return at !== null && Date.parse(at) < now - LEASE_MS;
}
