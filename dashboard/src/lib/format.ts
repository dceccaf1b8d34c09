/**
 * Every number, money amount, date and time the dashboard shows, in ONE locale (the page's,
 * lib/i18n/locale.ts: en-GB or nb-NO, the same one the text catalogue is in) and one display
 * time zone, so a page never mixes decimal points and commas or English and Norwegian. Nothing outside
 * this module calls toLocaleString/toFixed/Intl (src/lib/format-scan.test.ts fails if one does).
 */
import { currentLocale } from "@/lib/i18n/locale";

import { validTimeZone } from "./time-zone";

/** The zone times are shown in when a page has no household zone: the market's (NO1-NO5). */
export const DISPLAY_TIME_ZONE = "Europe/Oslo";

/** The page's locale (the language switch, else the build's default). */
export function appLocale(): string {
  return currentLocale();
}

/** `timeZone` when the browser knows it, else the display zone (never the browser's own zone). */
export function displayZone(timeZone?: string): string {
  return validTimeZone(timeZone) ?? DISPLAY_TIME_ZONE;
}

// Intl formatters are costly to build and charts format on every redraw: cached per locale+options.
const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function cached<F>(formats: Map<string, F>, locale: string, options: object, make: () => F): F {
  const key = `${locale}|${JSON.stringify(options)}`;
  let f = formats.get(key);
  if (!f) {
    f = make();
    formats.set(key, f);
  }
  return f;
}

/** A number formatter in the app's locale (`locale` only for tests that compare locales). */
export function numberFormat(options: Intl.NumberFormatOptions, locale = appLocale()): Intl.NumberFormat {
  return cached(numberFormats, locale, options, () => new Intl.NumberFormat(locale, options));
}

/** A date/time formatter in the app's locale, in `options.timeZone` or the display zone. */
export function dateTimeFormat(options: Intl.DateTimeFormatOptions, locale = appLocale()): Intl.DateTimeFormat {
  const full = { ...options, timeZone: displayZone(options.timeZone) };
  return cached(dateFormats, locale, full, () => new Intl.DateTimeFormat(locale, full));
}

export function fmtNumber(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "–";
  return numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** Between `min` and `max` fraction digits ("2.5", "2.125"). */
export function fmtDecimal(value: number, min: number, max: number): string {
  if (!Number.isFinite(value)) return "–";
  return numberFormat({ minimumFractionDigits: min, maximumFractionDigits: max }).format(value);
}

/** A number to edit in a text field: the locale's decimal separator, no grouping ("12.5" / "12,5"). */
export function fmtEditable(value: number): string {
  return Number.isFinite(value) ? numberFormat({ useGrouping: false, maximumFractionDigits: 6 }).format(value) : "";
}

/** A count with the locale's grouping ("12,345" / "12 345"). */
export function fmtInteger(value: number | bigint): string {
  return numberFormat({ maximumFractionDigits: 0 }).format(value);
}

export function fmtKw(value: number): string {
  return `${fmtNumber(value, Math.abs(value) < 10 ? 2 : 1)} kW`;
}

export function fmtKwh(value: number): string {
  return `${fmtNumber(value, Math.abs(value) < 100 ? 2 : 0)} kWh`;
}

/** Money in major units of `currency`; the symbol is the narrow one (€, kr) in either locale. */
export function fmtMoney(value: number, currency: string, min = 2, max = min): string {
  if (!Number.isFinite(value)) return "–";
  return numberFormat({ style: "currency", currency: currency || "EUR", currencyDisplay: "narrowSymbol", minimumFractionDigits: min, maximumFractionDigits: max }).format(value);
}

export function fmtEur(value: number, digits = 2): string {
  return fmtMoney(value, "EUR", digits);
}

export function microToEur(micro: bigint | number): number {
  return Number(micro) / 1_000_000;
}

/** The unit a household reads spot and bill prices in: øre/kWh for NOK, c/kWh for EUR. */
export function perKwhUnit(currency: string): string {
  return currency === "NOK" ? "øre/kWh" : "c/kWh";
}

/** The minor unit alone ("øre", "c"), for short badges. */
export function minorUnit(currency: string): string {
  return currency === "NOK" ? "øre" : "c";
}

/** Micro-units of the currency per kWh (the API's *_micro_per_kwh) as minor units (øre, c) per kWh. */
export function microToMinorPerKwh(micro: bigint | number): number {
  return Number(micro) / 10_000;
}

/** Minor units (øre, c) per kWh as the API's micro-units per kWh (thresholds a household types). */
export function minorPerKwhToMicro(minor: number): bigint {
  return BigInt(Math.round(minor * 10_000));
}

/** A published price in the bill's minor unit per kWh: the server's conversion at the day's
 *  EUR rate when it sent one (spot_micro_per_kwh), else EUR/MWh as c/kWh (an EUR-only server). */
export function spotMinorPerKwh(price: { spotMicroPerKwh: bigint; priceEurMwh: number }): number {
  return price.spotMicroPerKwh !== 0n ? microToMinorPerKwh(price.spotMicroPerKwh) : price.priceEurMwh / 10;
}

/** Minor units per kWh with the unit: "45.6 øre/kWh" (en-GB) or "45,6 øre/kWh" (nb-NO). */
export function fmtPerKwh(minor: number, currency: string, digits = 1): string {
  return `${fmtNumber(minor, digits)} ${perKwhUnit(currency)}`;
}

/** The API's micro-units of the currency per kWh, shown as fmtPerKwh shows minor units. */
export function fmtMicroPerKwh(micro: bigint, currency: string): string {
  return fmtPerKwh(microToMinorPerKwh(micro), currency);
}

/** An exchange rate: "EUR/NOK 11.75" (2 to 4 decimals). */
export function fmtRate(rate: number, currency: string): string {
  return `EUR/${currency} ${fmtDecimal(rate, 2, 4)}`;
}

/** A time of day, 24-hour, in `timeZone` (a household's) or the display zone. */
export function fmtTime(date: Date | undefined, timeZone?: string): string {
  return date ? dateTimeFormat({ hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(date) : "–";
}

export function fmtHour(date: Date | undefined, timeZone?: string): string {
  return fmtTime(date, timeZone);
}

/** The short weekday ("Wed" / "ons."). */
export function fmtWeekday(date: Date | undefined, timeZone?: string): string {
  return date ? dateTimeFormat({ weekday: "short", timeZone }).format(date) : "";
}

export function fmtDateTime(date: Date | undefined, timeZone?: string): string {
  return date
    ? dateTimeFormat({ year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(date)
    : "–";
}

/** Date and time with seconds (audit entries, alerts). */
export function fmtDateTimeSeconds(date: Date | undefined, timeZone?: string): string {
  return date
    ? dateTimeFormat({ year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone }).format(date)
    : "–";
}

export function fmtDate(date: Date | undefined, timeZone?: string): string {
  return date ? dateTimeFormat({ year: "numeric", month: "short", day: "numeric", timeZone }).format(date) : "–";
}

/** A delivery day as the API gives it (a local date, "2026-12-04") as "Friday 4 December" /
 *  "fredag 4. desember"; read at noon UTC so no time zone moves it to another day. */
export function fmtDay(day: string): string {
  const ms = Date.parse(`${day}T12:00:00Z`);
  return Number.isNaN(ms) ? day : dateTimeFormat({ weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(new Date(ms));
}

/** How long ago, in the page's locale ("now", "5 sec ago", "for 3 min siden"); "–" without a date. */
export function fmtRelative(date: Date | undefined, now = Date.now()): string {
  if (!date) return "–";
  const seconds = Math.round((now - date.getTime()) / 1000);
  const f = relativeFormat();
  if (seconds < 5) return f.format(0, "second");
  if (seconds < 60) return f.format(-seconds, "second");
  if (seconds < 3600) return f.format(-Math.round(seconds / 60), "minute");
  if (seconds < 86400) return f.format(-Math.round(seconds / 3600), "hour");
  return f.format(-Math.round(seconds / 86400), "day");
}

const relativeFormats = new Map<string, Intl.RelativeTimeFormat>();

function relativeFormat(locale = appLocale()): Intl.RelativeTimeFormat {
  let f = relativeFormats.get(locale);
  if (!f) {
    f = new Intl.RelativeTimeFormat(locale, { style: "short", numeric: "auto" });
    relativeFormats.set(locale, f);
  }
  return f;
}

const pluralRules = new Map<string, Intl.PluralRules>();

/** The locale's plural form of `count` ("1 hour", "2 hours"; "1 time", "2 timer"): the catalogue's
 *  plural messages pick their word with it. */
export function plural(count: number | bigint, one: string, other: string, locale = appLocale()): string {
  let rules = pluralRules.get(locale);
  if (!rules) {
    rules = new Intl.PluralRules(locale);
    pluralRules.set(locale, rules);
  }
  return rules.select(Number(count)) === "one" ? one : other;
}

export function shortHash(hex: string, size = 8): string {
  return hex.length > size * 2 ? `${hex.slice(0, size)}…${hex.slice(-4)}` : hex;
}

/** "YYYY-MM" of a date in local time. */
export function monthOf(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
}

/** "YYYY-MM" as a month name ("January 2026" / "januar 2026"). */
export function fmtMonth(month: string): string {
  const [y, m] = month.split("-").map(Number);
  if (!y || !m) return month;
  // Mid-month at noon UTC: the same calendar month in any display zone.
  return dateTimeFormat({ year: "numeric", month: "long", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 15, 12)));
}

/** Money in minor units (øre, cent) of `currency`. */
export function fmtMinor(minor: bigint | number | undefined, currency: string): string {
  if (minor === undefined) return "–";
  return fmtMoney(Number(minor) / 100, currency);
}

/** kWh with at most one decimal ("763.2 kWh"). */
export function fmtKwhIn(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return `${fmtDecimal(value, 0, 1)} kWh`;
}

// Files (CSV) are read by programs, not people: a fixed decimal point and ISO-like local time,
// whatever the display locale. Kept here so every number-to-text conversion lives in one module.

/** A decimal for a file: always "." and exactly `digits` decimals. */
export function csvDecimal(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** "2026-03-02 14:05" wall-clock time in `timeZone` (UTC when unknown), for a file. */
export function csvLocalTime(date: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: validTimeZone(timeZone) ?? "UTC", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
}

/** A share as a percentage ("12%" / "12 %"): `fraction` 0.12 is 12 %. */
export function fmtPercent(fraction: number, digits = 0): string {
  if (!Number.isFinite(fraction)) return "–";
  return numberFormat({ style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(fraction);
}
