/**
 * Sending rule 9 (recovery), and its twins for hooks, webhooks and build cursors: D1 is the truth,
 * the queue only a doorbell. Every unfinished row carries a lease — the time its work is due
 * (`next_attempt_at`, `lease_until`). A lease that ran out more than `LEASE_MS` ago lost its
 * doorbell (the queue message was lost, the process died), and the scheduler's sweep rings again.
 * Rows waiting on purpose (tokens, a retry, a paused program) carry a future lease and are left alone.
 *
 * One duration for every lease in Herald: rule 9's 2 minutes.
 */
export const LEASE_MS = 120_000;

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
