import type { ProgramRow } from "../../db/rows";
import { tickBirthdays } from "./birthdays";
import { tickDueRows } from "./due-rows";
import { tickSchedules } from "./schedules";
import { ringPages, type Tick, type TriggerTick } from "./tick";

/** The three ways a program falls due on the scheduler's clock. */
export type TriggerKind = "birthdays" | "due_rows" | "schedules";

/** Each trigger kind's share of a tick: one function each, one signature. */
const tickByKind: Record<TriggerKind, TriggerTick> = {
  birthdays: tickBirthdays,
  due_rows: tickDueRows,
  schedules: tickSchedules,
};

/**
 * Which kind a program's trigger is: birthdays; materialised due rows (`attributes.<date>`, and
 * schedules in each contact's zone); fixed-zone schedules. null for triggers the clock does not
 * drive (events).
 */
export function triggerKind(p: Pick<ProgramRow, "trigger">): TriggerKind | null {
  const t = p.trigger;
  if (t.type === "date")
    return t.field === "birthday" ? "birthdays" : t.field.startsWith("attributes.") ? "due_rows" : null;
  if (t.type === "schedule") return t.timezone === "contact" ? "due_rows" : "schedules";
  return null;
}

/**
 * One program's share of a tick, by its trigger kind; then the work queue is rung for the pages of
 * occurrences it wrote (also those written before a failure: they are due all the same).
 */
export async function tickProgram(tick: Tick, p: ProgramRow): Promise<void> {
  const kind = triggerKind(p);
  if (!kind) return;
  try {
    await tickByKind[kind](tick, p);
  } finally {
    await ringPages(tick, p);
  }
}
