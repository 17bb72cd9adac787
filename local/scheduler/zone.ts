/**
 * Wall clocks of IANA time zones, with `Intl` only: the offset of a zone at
 * an instant, the wall clock it shows, and the instants at which it shows a
 * given wall-clock time (none in a gap skipped by a daylight-saving change,
 * two in an hour it repeats). Wall-clock times are carried as epoch
 * milliseconds of the same fields read as UTC.
 */

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws `RangeError` for a time zone `Intl` does not know. */
export function checkTimeZone(timeZone: string): void {
  formatterOf(timeZone);
}

/** How far `timeZone`'s clocks are ahead of UTC at `instant`, in milliseconds. */
export function offsetAt(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatterOf(timeZone)
      .formatToParts(new Date(instant))
      .map((part) => [part.type, Number(part.value)]),
  );
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** What the clocks of `timeZone` read at `instant` (fields encoded as UTC). */
export function wallClockAt(instant: number, timeZone: string): number {
  return instant + offsetAt(instant, timeZone);
}

/**
 * Every instant at which the clocks of `timeZone` read `wallClock`, earliest
 * first: none when a daylight-saving change skips it, two when one repeats it.
 */
export function instantsAt(wallClock: number, timeZone: string): number[] {
  // The offsets in force a day either side cover any one change near the time.
  const candidates = new Set([
    wallClock - offsetAt(wallClock - DAY_MS, timeZone),
    wallClock - offsetAt(wallClock + DAY_MS, timeZone),
  ]);
  return [...candidates]
    .filter((instant) => wallClockAt(instant, timeZone) === wallClock)
    .sort((a, b) => a - b);
}

/**
 * The instant at which the clocks of `timeZone` read `wallClock`. A time
 * skipped by a daylight-saving change lands just after it; a repeated one
 * takes its first occurrence.
 */
export function zonedToEpoch(wallClock: number, timeZone: string): number {
  const first = wallClock - offsetAt(wallClock, timeZone);
  const second = wallClock - offsetAt(first, timeZone);
  return Math.min(first, second);
}

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}
