import type { ProgramRow, TenantRow } from "../../db/rows";
import { occurrenceInValidity } from "../../domain/rules/validity";
import type { ServiceContext } from "../../services/context";
import { createOccurrenceMessages, type Occurrence } from "../../services/programs/execute";

/** How far back a tick looks, however long the scheduler was away. */
export const MAX_CATCH_UP_MS = 8 * 24 * 3_600_000;
/** Due messages are written in pages of this many (one createMessages call each). */
export const SCHEDULER_PAGE = 100;

/** What a tick did, for its log line. */
export interface TickStats {
  rowsRead: number;
  due: number;
  programs: number;
}

/** One program's tick: its tenant and its window (from, now]. */
export interface Tick {
  ctx: ServiceContext;
  tenant: TenantRow;
  from: number;
  now: number;
  stats: TickStats;
}

/** One trigger kind's share of a tick for one program (birthdays.ts, due-rows.ts, schedules.ts). */
export type TriggerTick = (tick: Tick, p: ProgramRow) => Promise<void>;

/**
 * Whether an occurrence due at `dueMs` is created now: due and inside its validity, and no
 * retroactive sends (not before the program's activation, nor before any of `notBefore`).
 */
export function sendable(p: ProgramRow, dueMs: number, now: number, notBefore: string[]): boolean {
  if (!occurrenceInValidity(dueMs, p.validityHours, now)) return false;
  if (!p.activatedAt || dueMs < Date.parse(p.activatedAt)) return false;
  return notBefore.every((t) => dueMs >= Date.parse(t));
}

/** Creates the messages of these occurrences, `SCHEDULER_PAGE` at a time. */
export async function createInPages(tick: Tick, program: ProgramRow, occ: Occurrence[]): Promise<void> {
  for (let i = 0; i < occ.length; i += SCHEDULER_PAGE) {
    const page = occ.slice(i, i + SCHEDULER_PAGE);
    tick.stats.due += page.length;
    await createOccurrenceMessages(tick.ctx, program, tick.tenant, page, tick.now);
  }
}
