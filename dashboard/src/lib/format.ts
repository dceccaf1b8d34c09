/** Number, money and time formatting used across pages (one locale, one style). */
import { validTimeZone } from "./time-zone";

const LOCALE = undefined; // the browser's locale

export function fmtNumber(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString(LOCALE, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtKw(value: number): string {
  return `${fmtNumber(value, Math.abs(value) < 10 ? 2 : 1)} kW`;
}

export function fmtKwh(value: number): string {
  return `${fmtNumber(value, Math.abs(value) < 100 ? 2 : 0)} kWh`;
}

export function fmtEur(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString(LOCALE, { style: "currency", currency: "EUR", minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function microToEur(micro: bigint | number): number {
  return Number(micro) / 1_000_000;
}

/** EUR/MWh (market) to cents per kWh (what a household reads). */
export function eurMwhToCentKwh(value: number): number {
  return value / 10;
}

export function fmtCentKwh(value: number): string {
  return `${fmtNumber(value, 1)} c/kWh`;
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

/** A number the way the currency's households read it (nb-NO for NOK, decimal comma). */
export function fmtNumberIn(value: number, currency: string, digits = 1): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString(currency === "NOK" ? "nb-NO" : LOCALE, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Minor units per kWh with the unit: "45,6 øre/kWh" (NOK) or "4.0 c/kWh" (EUR). */
export function fmtPerKwh(minor: number, currency: string, digits = 1): string {
  return `${fmtNumberIn(minor, currency, digits)} ${perKwhUnit(currency)}`;
}

/** Times of day are in `timeZone` (a household's) when given, else the browser's zone. */
export function fmtTime(date: Date | undefined, timeZone?: string): string {
  return date ? date.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit", timeZone: validTimeZone(timeZone) }) : "–";
}

export function fmtDateTime(date: Date | undefined): string {
  return date
    ? date.toLocaleString(LOCALE, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : "–";
}

export function fmtDate(date: Date | undefined): string {
  return date ? date.toLocaleDateString(LOCALE, { year: "numeric", month: "short", day: "numeric" }) : "–";
}

export function fmtHour(date: Date | undefined, timeZone?: string): string {
  return fmtTime(date, timeZone);
}

export function fmtRelative(date: Date | undefined, now = Date.now()): string {
  if (!date) return "never";
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function shortHash(hex: string, size = 8): string {
  return hex.length > size * 2 ? `${hex.slice(0, size)}…${hex.slice(-4)}` : hex;
}

/** "YYYY-MM" of a date in local time. */
export function monthOf(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
}

export function fmtMonth(month: string): string {
  const [y, m] = month.split("-").map(Number);
  if (!y || !m) return month;
  return new Date(y, m - 1, 1).toLocaleDateString(LOCALE, { year: "numeric", month: "long" });
}

/** Money in minor units (ore, cent) of `currency`; NOK is shown the Norwegian way (nb-NO). */
export function fmtMinor(minor: bigint | number | undefined, currency: string): string {
  if (minor === undefined) return "–";
  const value = Number(minor) / 100;
  if (!Number.isFinite(value)) return "–";
  const locale = currency === "NOK" ? "nb-NO" : LOCALE;
  return value.toLocaleString(locale, { style: "currency", currency: currency || "EUR", minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** kWh in the bill's locale (nb-NO for NOK). */
export function fmtKwhIn(value: number, currency: string): string {
  if (!Number.isFinite(value)) return "–";
  const locale = currency === "NOK" ? "nb-NO" : LOCALE;
  return `${value.toLocaleString(locale, { minimumFractionDigits: 0, maximumFractionDigits: 1 })} kWh`;
}

/** "YYYY-MM" as a month name, Norwegian for NOK bills ("januar 2026"). */
export function fmtMonthIn(month: string, currency: string): string {
  const [y, m] = month.split("-").map(Number);
  if (!y || !m) return month;
  return new Date(y, m - 1, 1).toLocaleDateString(currency === "NOK" ? "nb-NO" : LOCALE, { year: "numeric", month: "long" });
}
