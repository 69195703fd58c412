/**
 * Quiet hours: local-time windows `[start, end)` in which a contact must not be texted. A window
 * may wrap midnight (21:00–08:00). All zone maths goes through Intl.DateTimeFormat, so daylight
 * saving transitions come from the runtime's ICU data rather than fixed offsets.
 */
import { zoneFormatter } from "./zone-format";

export interface QuietWindow {
  /** "HH:MM", local. */
  start: string;
  /** "HH:MM", local, exclusive. */
  end: string;
}

/** The default window (PRODUCT.md) and the stricter one for Florida and Oklahoma numbers. */
export const DEFAULT_QUIET_HOURS: QuietWindow = { start: "21:00", end: "08:00" };
export const FL_OK_QUIET_HOURS: QuietWindow = { start: "20:00", end: "08:00" };

const MINUTE = 60_000;
const DAY_MINUTES = 1440;

/** Minutes since local midnight of `instant` in `zone` (0–1439). */
export function localMinuteOfDay(instant: Date, zone: string): number {
  let hour = 0;
  let minute = 0;
  for (const part of zoneFormatter(zone, "time").formatToParts(instant)) {
    if (part.type === "hour") hour = Number(part.value) % 24;
    else if (part.type === "minute") minute = Number(part.value);
  }
  return hour * 60 + minute;
}

const toMinutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
};

/** Minutes from local minute `m` until the window ends, or 0 when `m` is outside it. */
function minutesUntilEnd(m: number, w: QuietWindow): number {
  const s = toMinutes(w.start);
  const e = toMinutes(w.end);
  if (s === e) return 0;
  const inside = s < e ? m >= s && m < e : m >= s || m < e;
  return inside ? (e - m + DAY_MINUTES) % DAY_MINUTES : 0;
}

const asList = (w: QuietWindow | readonly QuietWindow[]): readonly QuietWindow[] =>
  Array.isArray(w) ? w : [w as QuietWindow];

/** Longest wait, in local minutes, until `instant` is outside every window in every zone (0 = allowed). */
function wallWait(instant: Date, zones: readonly string[], windows: readonly QuietWindow[]): number {
  let wait = 0;
  for (const zone of zones) {
    const m = localMinuteOfDay(instant, zone);
    for (const w of windows) wait = Math.max(wait, minutesUntilEnd(m, w));
  }
  return wait;
}

/**
 * True when `instant` falls inside a quiet window in ANY of `zones` (when the zone of a number is
 * uncertain, a minute is quiet if it is quiet in any candidate zone).
 *
 * @example isQuiet(new Date("2026-01-15T03:00:00Z"), ["America/New_York"], DEFAULT_QUIET_HOURS) // true (22:00 local)
 */
export function isQuiet(
  instant: Date,
  zones: readonly string[],
  window: QuietWindow | readonly QuietWindow[],
): boolean {
  return wallWait(instant, zones, asList(window)) > 0;
}

/**
 * `instant` itself when it is allowed in every zone; otherwise the first whole minute after it that
 * is outside every window in every zone. A window end skipped by a spring-forward gap resolves to
 * the first minute after the gap; a repeated fall-back hour is waited out in real time.
 *
 * @example nextAllowedMinute(new Date("2026-01-15T03:00:00Z"), ["America/New_York"], DEFAULT_QUIET_HOURS)
 *   // 2026-01-15T13:00:00.000Z (08:00 in New York)
 */
export function nextAllowedMinute(
  instant: Date,
  zones: readonly string[],
  window: QuietWindow | readonly QuietWindow[],
): Date {
  const windows = asList(window);
  if (zones.length === 0 || wallWait(instant, zones, windows) === 0) return instant;
  const floor = Math.floor(instant.getTime() / MINUTE) * MINUTE;
  let t = floor;
  // Each jump lands on a window end in wall-clock terms; a DST change in between can make it
  // early (fall back: loop again) or late (spring forward: step back while still allowed).
  for (let guard = 0; guard < 16; guard++) {
    const wait = wallWait(new Date(t), zones, windows);
    if (wait === 0) return new Date(t);
    t += wait * MINUTE;
    for (let back = 0; back < 180; back++) {
      const prev = t - MINUTE;
      if (prev <= floor || wallWait(new Date(prev), zones, windows) > 0) break;
      t = prev;
    }
  }
  // Windows that cover the whole day leave no allowed minute; never loop forever.
  return new Date(t);
}

/**
 * The union of two windows when it is one window (the usual case: the tenant's 21:00–08:00 and
 * Florida's 20:00–08:00 → 20:00–08:00); otherwise both, each applied.
 */
export function stricterWindows(a: QuietWindow, b: QuietWindow): QuietWindow[] {
  if (a.start === a.end) return [b];
  if (b.start === b.end) return [a];
  const len = (w: QuietWindow) => (toMinutes(w.end) - toMinutes(w.start) + DAY_MINUTES) % DAY_MINUTES;
  const contains = (outer: QuietWindow, inner: QuietWindow) => {
    const offset = (toMinutes(inner.start) - toMinutes(outer.start) + DAY_MINUTES) % DAY_MINUTES;
    return offset + len(inner) <= len(outer);
  };
  if (contains(a, b)) return [a];
  if (contains(b, a)) return [b];
  return [a, b];
}
