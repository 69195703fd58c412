/**
 * A program message's program, at dispatch (PRODUCT.md, "no retroactive sends" and DELETE): an
 * archived program's pending messages are canceled; a paused one's wait, untouched, until it
 * resumes (then re-checked against validity); `exit_on` suppresses the exited contact's messages.
 */
export type ProgramHold = "program_archived" | "program_paused" | "exited";

/**
 * What the program's state does to one of its messages now, or null when it may go on.
 *
 * @example programHold("paused", false) // "program_paused"
 */
export function programHold(programStatus: string | null, exited: boolean): ProgramHold | null {
  if (programStatus === "archived") return "program_archived";
  if (programStatus === "paused") return "program_paused";
  if (exited) return "exited";
  return null;
}

/**
 * `exit_on`: an exit recorded for a date program holds until the contact's date field changes
 * (event and schedule programs have no field: null = null holds for ever).
 *
 * @example exitHolds("2026-12-01", "2026-12-01") // true
 * @example exitHolds("2026-12-01", "2027-01-01") // false — a new due date lifts the exit
 */
export const exitHolds = (fieldValueAtExit: string | null, fieldValueNow: string | null): boolean =>
  (fieldValueAtExit ?? null) === (fieldValueNow ?? null);
