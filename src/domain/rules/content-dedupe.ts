/**
 * Sending rule 3 (content dedupe), at creation: the same body (footer excluded) to the same phone
 * inside `dedupe_window_hours`, against messages that reached `queued` or later → `duplicate`
 * (two departments sending the same notice). Occurrences of one program don't dedupe each other.
 */

/** States that count as "reached queued or later". */
export const DEDUPE_STATUSES = ["queued", "sending", "sent", "delivered"] as const;

/**
 * Whether a message of `ownProgramId` (null: an API send) repeats one already sent with the same
 * body to the same phone; `seenProgramIds` are the programs of those earlier messages.
 *
 * @example isDuplicate(["pg_a"], "pg_a") // false — the same program's next occurrence
 * @example isDuplicate(["pg_a"], "pg_b") // true — another department, same text
 */
export function isDuplicate(
  seenProgramIds: readonly (string | null)[],
  ownProgramId: string | null,
): boolean {
  return seenProgramIds.some((p) => ownProgramId === null || p !== ownProgramId);
}
