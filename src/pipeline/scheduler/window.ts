// Writes D1: the scheduler's own bookkeeping in `system_state` (windows owed, strikes), no tenant data.
import { IN_JSON_LIST } from "../../db/json-list";
import type { Env } from "../../env";
import { iso } from "../../lib/time";

/**
 * The scheduler's catch-up windows, kept in `system_state`:
 * - `scheduler.last_tick`: the end of the last tick's window, shared by every program; it moves
 *   forward on every tick that got through the programs, whatever one of them did;
 * - `scheduler.owed.<program_id>`: the start of a window a program still owes because its tick
 *   failed (a fault, a bug). Only that program looks back to it, until it succeeds.
 */
const LAST_TICK_KEY = "scheduler.last_tick";
const OWED_PREFIX = "scheduler.owed.";
/**
 * `scheduler.strikes.<program_id>`: how many ticks started this owed program and did not finish it
 * (a throw, or the invocation killed inside it: CPU limit, crash). Owed programs run last, fewest
 * strikes first, so one that keeps killing the tick goes after everyone else's work.
 */
const STRIKES_PREFIX = "scheduler.strikes.";

export async function readLastTick(env: Env): Promise<number | null> {
  const row = await env.DB.prepare("SELECT value FROM system_state WHERE key = ?")
    .bind(LAST_TICK_KEY)
    .first<{ value: string }>();
  const ms = row ? Date.parse(row.value) : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}

/** Moves the last tick forward only (an overlapping, older tick never pulls it back). */
export async function writeLastTick(env: Env, now: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO system_state (key, value, updated_at) VALUES (?1, ?2, ?2)
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value), updated_at = excluded.updated_at`,
  )
    .bind(LAST_TICK_KEY, iso(now))
    .run();
}

/** Programs that owe a window, with its start (ms). */
export async function readOwedWindows(env: Env): Promise<Map<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT substr(key, ?1) AS programId, value FROM system_state WHERE key LIKE ?2",
  )
    .bind(OWED_PREFIX.length + 1, `${OWED_PREFIX}%`)
    .all<{ programId: string; value: string }>();
  const out = new Map<string, number>();
  for (const r of results) {
    const ms = Date.parse(r.value);
    if (Number.isFinite(ms)) out.set(r.programId, ms);
  }
  return out;
}

/** The window start a program's tick uses: the shared one, or the older one it still owes. */
export const programWindowStart = (shared: number, owed: number | undefined): number =>
  owed === undefined ? shared : Math.min(shared, owed);

/** Records that `programId` still owes the window from `from` (keeps the older start). */
export async function oweWindow(env: Env, programId: string, from: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO system_state (key, value, updated_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (key) DO UPDATE SET value = min(value, excluded.value), updated_at = excluded.updated_at`,
  )
    .bind(`${OWED_PREFIX}${programId}`, iso(from), iso())
    .run();
}

/**
 * Records, in one statement, that each program owes its window from the given start (keeps the
 * older start). Written before a tick runs any program, so a tick killed half-way leaves every
 * program it did not finish owing its window, while the shared window moves on.
 */
export async function oweWindows(env: Env, starts: ReadonlyMap<string, number>): Promise<void> {
  if (starts.size === 0) return;
  const rows = [...starts].map(([id, from]) => ({ k: `${OWED_PREFIX}${id}`, v: iso(from) }));
  await env.DB.prepare(
    `INSERT INTO system_state (key, value, updated_at)
     SELECT json_extract(value, '$.k'), json_extract(value, '$.v'), ?2 FROM json_each(?1) WHERE true
     ON CONFLICT (key) DO UPDATE SET value = min(value, excluded.value), updated_at = excluded.updated_at`,
  )
    .bind(JSON.stringify(rows), iso())
    .run();
}

/** Strikes of the owed programs (absent = 0). */
export async function readStrikes(env: Env): Promise<Map<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT substr(key, ?1) AS programId, value FROM system_state WHERE key LIKE ?2",
  )
    .bind(STRIKES_PREFIX.length + 1, `${STRIKES_PREFIX}%`)
    .all<{ programId: string; value: string }>();
  return new Map(results.map((r) => [r.programId, Number(r.value) || 0]));
}

/** One more strike for an owed program, written just before a tick starts it. */
export async function addStrike(env: Env, programId: string): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO system_state (key, value, updated_at) VALUES (?1, '1', ?2)
     ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, updated_at = excluded.updated_at`,
  )
    .bind(`${STRIKES_PREFIX}${programId}`, iso())
    .run();
}

/** The programs in `programIds` owe nothing any more (their tick succeeded, or they stopped). */
export async function settleWindows(env: Env, programIds: readonly string[]): Promise<void> {
  if (programIds.length === 0) return;
  const keys = programIds.flatMap((id) => [`${OWED_PREFIX}${id}`, `${STRIKES_PREFIX}${id}`]);
  await env.DB.prepare(`DELETE FROM system_state WHERE key IN ${IN_JSON_LIST}`)
    .bind(JSON.stringify(keys))
    .run();
}
