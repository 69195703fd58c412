/**
 * One cache of `Intl.DateTimeFormat`s by zone and shape: building one costs far more than using it,
 * and the scheduler and quiet hours ask for the same few zones thousands of times a tick.
 */
const SHAPES = {
  /** Hour and minute, 24 h. */
  time: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  /** Date and time, 24 h. */
  dateTime: {
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The formatter of `zone` in one of the shapes (throws a RangeError for a zone the runtime does not know).
 *
 * @example zoneFormatter("America/New_York", "time").format(new Date("2026-01-15T15:30:00Z")) // "10:30"
 */
export function zoneFormatter(zone: string, shape: keyof typeof SHAPES): Intl.DateTimeFormat {
  const key = `${shape}|${zone}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, ...SHAPES[shape] });
    formatters.set(key, f);
  }
  return f;
}
