/**
 * Time axes for every uPlot chart: whole-second tick steps (uPlot's defaults go down to
 * milliseconds and label a short span ":12.250"), 24-hour labels and one format per span —
 * seconds "HH:MM:SS", minutes and hours "HH:MM", days "D MMM" — in the household's time zone
 * when the page knows it (placement of the ticks too, via uPlot's `tzDate`), else the display zone
 * (Europe/Oslo), in the app's one locale (lib/format).
 */
import uPlot from "uplot";

import { dateTimeFormat, displayZone } from "@/lib/format";
import { messages } from "@/lib/i18n";

import { axisStyle, legendValue } from "./uplot-chart";

const S = 1;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const MO = 30 * D;
const Y = 365 * D;

/** Tick steps in seconds; the first is one second (no sub-second ticks on any chart). */
export const TIME_INCRS: number[] = [
  S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S,
  M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M,
  H, 2 * H, 3 * H, 4 * H, 6 * H, 8 * H, 12 * H,
  D, 2 * D, 3 * D, 4 * D, 7 * D, 14 * D,
  MO, 2 * MO, 3 * MO, 6 * MO,
  Y, 2 * Y, 5 * Y, 10 * Y,
];

interface WallTime {
  year: string;
  month: string; // short month name in the locale ("Mar")
  day: string; // day of month without padding ("3")
  hour: string; // "00".."23"
  minute: string;
  second: string;
}

function formatter(timeZone: string | undefined, locale: string | undefined) {
  const options = { timeZone, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" } as const;
  return locale ? dateTimeFormat(options, locale) : dateTimeFormat(options);
}

/** The wall-clock fields of a Unix time (seconds) in `timeZone`. */
export function wallTime(unixSeconds: number, timeZone?: string, locale?: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone, locale).formatToParts(new Date(unixSeconds * 1000))) parts[p.type] = p.value;
  return {
    year: parts.year ?? "",
    month: (parts.month ?? "").replace(/\.$/, ""),
    day: parts.day ?? "",
    hour: (parts.hour ?? "00").padStart(2, "0"),
    minute: (parts.minute ?? "00").padStart(2, "0"),
    second: (parts.second ?? "00").padStart(2, "0"),
  };
}

const dayKey = (w: WallTime) => `${w.year}-${w.month}-${w.day}`;
const dayMonth = (w: WallTime) => `${w.day} ${w.month}`;

/**
 * Labels for ticks at `splits` (Unix seconds) spaced `incr` seconds apart. Sub-day steps add the
 * date on a second line at the first tick and wherever the day changes, when the axis spans days.
 */
export function timeTickLabels(splits: number[], incr: number, timeZone?: string, locale?: string): string[] {
  const walls = splits.map((s) => wallTime(s, timeZone, locale));
  if (incr >= Y) return walls.map((w) => w.year);
  if (incr >= 28 * D) return walls.map((w) => `${w.month} ${w.year}`);
  if (incr >= D) return walls.map(dayMonth);
  const multiDay = new Set(walls.map(dayKey)).size > 1;
  return walls.map((w, i) => {
    const clock = incr < M ? `${w.hour}:${w.minute}:${w.second}` : `${w.hour}:${w.minute}`;
    const prev = walls[i - 1];
    const newDay = multiDay && (!prev || dayKey(prev) !== dayKey(w));
    return newDay ? `${clock}\n${dayMonth(w)}` : clock;
  });
}

/** The legend / cursor label of one instant: "3 Mar 14:05" (with ":SS" when asked). */
export function timeLabel(unixSeconds: number, timeZone?: string, withSeconds = false, locale?: string): string {
  const w = wallTime(unixSeconds, timeZone, locale);
  return `${dayMonth(w)} ${w.hour}:${w.minute}${withSeconds ? `:${w.second}` : ""}`;
}

export interface TimeX {
  /** Spread into the chart options: places day/hour ticks on the zone's midnights and hours. */
  tzDate?: (ts: number) => Date;
  /** axes[0] */
  axis: uPlot.Axis;
  /** series[0] (the legend's time value) */
  series: uPlot.Series;
}

/** The x axis, its series and tick placement for a time chart in `timeZone` (default: the display zone). */
export function timeX(timeZone?: string, { seconds = false }: { seconds?: boolean } = {}): TimeX {
  // Ticks and labels in the same zone: an unknown zone falls back to the display zone for both.
  const tz = displayZone(timeZone);
  return {
    tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), tz),
    axis: {
      ...axisStyle,
      incrs: TIME_INCRS,
      space: 64, // "HH:MM:SS" at 11px needs ~50px; keep a gap between labels
      values: (_u, splits, _axisIdx, _space, incr) => timeTickLabels(splits, incr, tz),
    },
    series: { label: messages().common.time, value: legendValue((v) => timeLabel(v, tz, seconds)) },
  };
}
