/** Calendar arithmetic in a named IANA time zone (a household's), with the browser's as fallback. */

/** A time zone name the browser knows, or undefined (callers then use the browser's own zone). */
export function validTimeZone(timeZone: string | undefined): string | undefined {
  if (!timeZone) return undefined;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    return timeZone;
  } catch {
    return undefined;
  }
}

const numeric = new Map<string, Intl.DateTimeFormat>();

function zonedFields(date: Date, timeZone: string): [number, number, number, number, number, number] {
  let f = numeric.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      hourCycle: "h23",
    });
    numeric.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(date)) if (part.type !== "literal") p[part.type] = Number(part.value);
  return [p.year ?? 1970, p.month ?? 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0];
}

/** How far the zone's wall clock is ahead of UTC at `date`, in ms. */
function offsetMs(date: Date, timeZone: string): number {
  const [y, mo, d, h, mi, s] = zonedFields(date, timeZone);
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(date.getTime() / 1000) * 1000;
}

/** Local midnight of `date`'s calendar day in `timeZone` (the browser's zone when absent). */
export function startOfDayIn(date: Date, timeZone?: string): Date {
  const tz = validTimeZone(timeZone);
  if (!tz) {
    const d = new Date(date);
    d.setHours(0, 0, 0, 0);
    return d;
  }
  const [y, mo, d] = zonedFields(date, tz);
  const wallMidnight = Date.UTC(y, mo - 1, d);
  // Two passes settle the offset even when midnight sits next to a DST change.
  let t = wallMidnight - offsetMs(new Date(wallMidnight), tz);
  t = wallMidnight - offsetMs(new Date(t), tz);
  return new Date(t);
}

/** Midnight `days` calendar days after `dayStart`'s day in `timeZone` (days are 23–25 h at DST). */
export function addDaysIn(dayStart: Date, days: number, timeZone?: string): Date {
  return startOfDayIn(new Date(dayStart.getTime() + days * 86_400_000 + 12 * 3_600_000), timeZone);
}

/** A key that changes exactly when the calendar day in `timeZone` changes. */
export function dayKeyIn(date: Date, timeZone?: string): string {
  const tz = validTimeZone(timeZone);
  if (!tz) return date.toDateString();
  const [y, mo, d] = zonedFields(date, tz);
  return `${y}-${mo}-${d}`;
}
