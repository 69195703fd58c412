import type { ProgramRow, TenantRow } from "../../db/rows";
import { occurrenceInValidity } from "../../domain/rules/validity";
import type { ServiceContext } from "../../services/context";
import { type DueOccurrence, writeOccurrencePages } from "../../services/programs/occurrence-pages";
import { enqueueWork } from "../enqueue";
import { logTickFailure } from "./parts";

/** How far back a tick looks, however long the scheduler was away. */
export const MAX_CATCH_UP_MS = 8 * 24 * 3_600_000;
/** Due rows and audiences are read in pages of this many. */
export const SCHEDULER_PAGE = 100;
/** Pages written (100,000 occurrences) after which a program's tick rings them without waiting for its end. */
const RING_EVERY = 1_000;

/** What a tick did, for its log line. */
export interface TickStats {
  rowsRead: number;
  due: number;
  /** Pages of occurrences handed to the work queue. */
  pages: number;
  programs: number;
}

/** One program's tick: its tenant and its window (from, now]. */
export interface Tick {
  ctx: ServiceContext;
  tenant: TenantRow;
  from: number;
  now: number;
  stats: TickStats;
  /** Pages written and not yet rung: their jobs go out once the program's tick is done (`ringPages`). */
  pages?: string[];
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

/**
 * Hands these due occurrences to the work queue: written to D1 as pages of ≤ 100 (one round trip);
 * their jobs are rung once the program's tick is done (`ringPages`). The work consumer creates
 * their messages (`continueOccurrencePage`); the tick neither renders nor writes them, so its own
 * time stays small however many are due. Once the pages are written the occurrences are durable:
 * a job lost, or never sent, is rung again by the occurrence-page sweep, so the program's window
 * can be settled.
 */
export async function queueOccurrences(tick: Tick, program: ProgramRow, occ: DueOccurrence[]): Promise<void> {
  if (occ.length === 0) return;
  const ids = await writeOccurrencePages(tick.ctx, program.id, occ, tick.now);
  tick.stats.due += occ.length;
  tick.stats.pages += ids.length;
  tick.pages = [...(tick.pages ?? []), ...ids];
  // A very large share (a fixed schedule over a huge audience) does not wait for its end.
  if (tick.pages.length >= RING_EVERY) await ringPages(tick, program);
}

/**
 * Rings the work queue for the pages this program's tick wrote (one job each, `sendBatch` by 100).
 * After the selection rather than during it, so the consumers' message writes do not compete with
 * the tick's own reads and writes. A failed send is logged, not thrown: the pages are in D1, leased
 * at their writing, and the sweep rings them once the lease ran out.
 */
export async function ringPages(tick: Tick, program: ProgramRow): Promise<void> {
  const ids = tick.pages ?? [];
  tick.pages = [];
  if (ids.length === 0) return;
  try {
    await enqueueWork(
      tick.ctx.env,
      ids.map((pageId) => ({ kind: "occurrences", tenantId: tick.ctx.tenantId, pageId })),
    );
  } catch (err) {
    logTickFailure({ tenant_id: tick.ctx.tenantId, program_id: program.id, step: "ring_pages" }, err);
  }
}
