/**
 * Validity (PRODUCT.md, Programs `validity_hours`): a message not handed to a carrier within its
 * validity of its due time — or, when quiet hours deferred it, of the minute they ended — becomes
 * `expired` instead of arriving late. Decided at creation (the deadline), checked at dispatch and by
 * the sweep (deadline passed), moved by a quiet-hours hold, and handed to carriers as seconds left.
 */
const HOUR_MS = 3_600_000;

/**
 * The deadline of a message that becomes sendable at `startMs`.
 *
 * @example new Date(validUntil(Date.parse("2026-12-01T10:00:00Z"), 24)).toISOString() // "2026-12-02T10:00:00.000Z"
 */
export const validUntil = (startMs: number, validityHours: number): number =>
  startMs + validityHours * HOUR_MS;

/**
 * Whether the deadline has passed at `now` (a message without one never expires).
 *
 * @example validityEnded("2026-12-01T10:00:00.000Z", Date.parse("2026-12-01T10:00:00Z")) // true
 */
export const validityEnded = (expiresAt: string | null, now: number): boolean =>
  expiresAt !== null && Date.parse(expiresAt) <= now;

/**
 * Whether an occurrence due at `dueMs` is still worth sending at `now` (due, and inside validity).
 *
 * @example occurrenceInValidity(Date.parse("2026-11-30T10:00:00Z"), 24, Date.parse("2026-12-01T11:00:00Z")) // false
 */
export const occurrenceInValidity = (dueMs: number, validityHours: number, now: number): boolean =>
  dueMs <= now && validUntil(dueMs, validityHours) > now;

/**
 * Whole seconds of validity left at `now`, at least 1 (Twilio's `ValidityPeriod`, Vonage's `ttl`);
 * undefined without a deadline.
 *
 * @example validitySecondsLeft("2026-12-01T10:01:00.000Z", Date.parse("2026-12-01T10:00:00Z")) // 60
 */
export function validitySecondsLeft(expiresAt: string | null, now: number): number | undefined {
  if (expiresAt === null) return undefined;
  return Math.max(1, Math.floor((Date.parse(expiresAt) - now) / 1000));
}

/**
 * The deadline of a message held by quiet hours until `untilMs`: the validity it had counts again
 * from that minute (unchanged when it had none, or no due time to measure it from).
 *
 * @example movedDeadline("2026-12-02T10:00:00.000Z", "2026-12-01T10:00:00.000Z", Date.parse("2026-12-01T13:00:00Z")) // "2026-12-02T13:00:00.000Z"
 */
export function movedDeadline(
  expiresAt: string | null,
  scheduledAt: string | null,
  untilMs: number,
): string | null {
  if (expiresAt === null || scheduledAt === null) return expiresAt;
  const validityMs = Math.max(0, Date.parse(expiresAt) - Date.parse(scheduledAt));
  return new Date(untilMs + validityMs).toISOString();
}
