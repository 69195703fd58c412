/**
 * Whole years since a full birthday (`YYYY-MM-DD`) on a local calendar date `today` (`YYYY-MM-DD`,
 * see `localDate` in schedule.ts); null for a year-less `--MM-DD`, no birthday, or a birthday after
 * `today`. Someone born on 29 February turns a year older on 1 March in common years.
 *
 * @example ageOn("1990-04-17", "2026-04-16") // 35
 * @example ageOn("1990-04-17", "2026-04-17") // 36
 * @example ageOn("--04-17", "2026-04-17") // null
 */
export function ageOn(birthday: string | null | undefined, today: string): number | null {
  if (!birthday || !/^\d{4}-\d{2}-\d{2}$/.test(birthday)) return null;
  const years = Number(today.slice(0, 4)) - Number(birthday.slice(0, 4));
  const age = today.slice(5) < birthday.slice(5) ? years - 1 : years;
  return age < 0 ? null : age;
}
