import { Cron } from "croner";
import { zoneFormatter } from "./zone-format";

/** Wall-clock parts of an instant in a zone. */
export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Whether `zone` is an IANA zone this runtime knows. */
export function isValidZone(zone: string): boolean {
  try {
    zoneFormatter(zone, "dateTime");
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall clock of `ms` in `zone`.
 * @example localParts(Date.UTC(2026, 0, 1, 15), "America/New_York") // { year: 2026, month: 1, day: 1, hour: 10, minute: 0 }
 */
export function localParts(ms: number, zone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of zoneFormatter(zone, "dateTime").formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return {
    year: out.year ?? 0,
    month: out.month ?? 0,
    day: out.day ?? 0,
    hour: out.hour ?? 0,
    minute: out.minute ?? 0,
  };
}

/**
 * Local calendar date `YYYY-MM-DD` of an instant in a zone; in UTC when the zone is missing or
 * unknown to this runtime (a contact without a zone of its own, say).
 * @example localDate(Date.UTC(2026, 0, 1, 3), "America/New_York") // "2025-12-31"
 * @example localDate(Date.UTC(2026, 0, 1, 3), null) // "2026-01-01"
 */
export function localDate(ms: number, zone: string | null | undefined): string {
  const p = localParts(ms, zone && isValidZone(zone) ? zone : "UTC");
  return ymd(p.year, p.month, p.day);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
export const ymd = (y: number, m: number, d: number): string => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;

const wallMs = (p: LocalParts): number => Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);

/** Offset (local − UTC) of `zone` at instant `ms`, in ms (minute precision). */
function offsetAt(ms: number, zone: string): number {
  const floored = Math.floor(ms / MINUTE) * MINUTE;
  return wallMs(localParts(floored, zone)) - floored;
}

/**
 * The UTC instant of a local date and `HH:MM` in `zone`. A time that does not exist (spring
 * forward) gives the next valid minute; a repeated one (fall back) gives the first of the two.
 *
 * @example localToUtc("2026-03-08", "02:30", "America/New_York") // 2026-03-08T07:00:00Z (03:00 EDT)
 * @example localToUtc("2026-11-01", "01:30", "America/New_York") // 2026-11-01T05:30:00Z (01:30 EDT, the first)
 */
export function localToUtc(date: string, time: string, zone: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const [hh, mm] = time.split(":").map(Number) as [number, number];
  const wanted = Date.UTC(y, m - 1, d, hh, mm);
  // Walk forward a minute at a time only inside a gap (at most the gap's length).
  for (let step = 0; step <= 24 * 60; step++) {
    const target = wanted + step * MINUTE;
    const candidates = [target - offsetAt(target - DAY, zone), target - offsetAt(target + DAY, zone)];
    const exact = candidates.filter((c) => wallMs(localParts(c, zone)) === target).sort((a, b) => a - b);
    if (exact[0] !== undefined) return exact[0];
  }
  return wanted - offsetAt(wanted, zone);
}

export const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * The calendar day a birthday (`YYYY-MM-DD` or `--MM-DD`) falls on in `year`: 29 February is
 * celebrated on 28 February in other years.
 * @example birthdayInYear("--02-29", 2027) // "2027-02-28"
 */
export function birthdayInYear(birthday: string, year: number): string {
  const md = birthday.slice(-5);
  const [m, d] = md.split("-").map(Number) as [number, number];
  if (m === 2 && d === 29 && !isLeapYear(year)) return ymd(year, 2, 28);
  return ymd(year, m, d);
}

/** Month-days (`MM-DD`) whose birthdays fall on local date `date` (28 Feb also takes 29 Feb in common years). */
export function birthdayMonthDaysOn(date: string): string[] {
  const year = Number(date.slice(0, 4));
  const md = date.slice(5);
  return md === "02-28" && !isLeapYear(year) ? ["02-28", "02-29"] : [md];
}

/** `date` shifted by whole days. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d) + days * DAY);
  return ymd(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/** Local calendar dates that `zone`s anywhere on Earth (UTC−12…UTC+14) may be on during [fromMs, toMs]. */
export function datesInWindow(fromMs: number, toMs: number): string[] {
  const first = new Date(fromMs - 12 * 3_600_000).toISOString().slice(0, 10);
  const last = new Date(toMs + 14 * 3_600_000).toISOString().slice(0, 10);
  const out: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * The due instant of a date trigger: the date field plus `offsetDays`, at `at` local time.
 * @example dateTriggerDue("2026-12-04", -3, "10:00", "Europe/Berlin") // 2026-12-01T09:00:00Z
 */
export function dateTriggerDue(date: string, offsetDays: number, at: string, zone: string): number {
  return localToUtc(addDays(date, offsetDays), at, zone);
}

/**
 * The birthday occurrence whose due instant is the first one after `afterMs`: `{year, dueAt}`.
 * The birthday local date of a year (29 Feb → 28 Feb in common years) at `at`, in `zone`.
 */
export function nextBirthday(
  birthday: string,
  at: string,
  zone: string,
  afterMs: number,
): { year: number; date: string; dueAt: number } {
  const startYear = localParts(afterMs, zone).year - 1;
  for (let year = startYear; year <= startYear + 3; year++) {
    const date = birthdayInYear(birthday, year);
    const dueAt = localToUtc(date, at, zone);
    if (dueAt > afterMs) return { year, date, dueAt };
  }
  const year = startYear + 4;
  const date = birthdayInYear(birthday, year);
  return { year, date, dueAt: localToUtc(date, at, zone) };
}

const crons = new Map<string, Cron>();

function cronFor(pattern: string, zone: string): Cron {
  const key = `${zone}\u0000${pattern}`;
  let c = crons.get(key);
  if (!c) {
    c = new Cron(pattern, { timezone: zone, paused: true, mode: "5-part" });
    crons.set(key, c);
  }
  return c;
}

/** Whether a 5-field cron expression parses (croner). */
export function cronError(pattern: string): string | null {
  if (pattern.trim().split(/\s+/).length !== 5) return "must have 5 fields (minute hour day month weekday)";
  try {
    new Cron(pattern, { paused: true, mode: "5-part" });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The first cron instant strictly after `afterMs`, in `zone` (DST handled by croner: a skipped
 * local time fires at the next valid time, a repeated one once). null when the pattern never fires.
 * @example nextCron("0 10 * * 1", "Europe/Berlin", Date.parse("2026-11-22T00:00:00Z")) // 2026-11-23T09:00:00Z
 */
export function nextCron(pattern: string, zone: string, afterMs: number): number | null {
  const next = cronFor(pattern, zone).nextRun(new Date(afterMs));
  return next ? next.getTime() : null;
}

/** Cron instants in (fromMs, toMs], oldest first, at most `max`. */
export function cronRunsBetween(
  pattern: string,
  zone: string,
  fromMs: number,
  toMs: number,
  max = 1_000,
): number[] {
  const out: number[] = [];
  let t = fromMs;
  while (out.length < max) {
    const n = nextCron(pattern, zone, t);
    if (n === null || n > toMs) break;
    out.push(n);
    t = n;
  }
  return out;
}
