/** Timestamps are stored and returned as ISO-8601 UTC strings with milliseconds (sortable as text). */
export const iso = (ms: number | Date = Date.now()): string => new Date(ms).toISOString();

export const nowIso = (): string => iso(Date.now());

export const addMinutes = (isoTime: string, minutes: number): string =>
  iso(Date.parse(isoTime) + minutes * 60_000);
export const addHours = (isoTime: string, hours: number): string =>
  iso(Date.parse(isoTime) + hours * 3_600_000);
