/**
 * The one locale (the page's: lib/i18n/locale.ts) in both supported settings: every number, amount, date and time
 * of a page uses the same decimal separator, and dates are in the display zone (Europe/Oslo).
 */
import { afterEach, describe, expect, it } from "vitest";

import { setLocale } from "@/lib/i18n/locale";

import { spotMinorPerKwh, fmtDate, fmtDateTime, fmtDecimal, fmtEur, fmtInteger, fmtKw, fmtKwh, fmtKwhIn, fmtMinor, fmtMonth, fmtNumber, fmtPercent, fmtPerKwh, fmtRate, fmtRelative, fmtTime, fmtWeekday, plural } from "./format";

const nbsp = (s: string) => s.replace(/[\s\u202f]/g, " ");
// 2026-01-15 13:05 UTC = 14:05 in Oslo (CET).
const T = new Date(Date.UTC(2026, 0, 15, 13, 5));

/** Every decimal-formatted value a page may hold side by side. */
function decimals(): string[] {
  return [fmtNumber(1234.5, 2), fmtDecimal(2.5, 1, 3), fmtKw(3.25), fmtKwh(12.5), fmtKwhIn(763.2), fmtEur(1399.48), fmtMinor(139_948n, "NOK"), fmtPerKwh(45.6, "NOK"), fmtPerKwh(4.25, "EUR"), fmtRate(11.7512, "NOK")].map(nbsp);
}

afterEach(() => {
  setLocale("en-GB", false);
});

describe("one locale: en-GB (the default)", () => {
  it("uses a decimal point and comma grouping everywhere", () => {
    setLocale("en-GB", false);
    expect(decimals()).toEqual(["1,234.50", "2.5", "3.25 kW", "12.50 kWh", "763.2 kWh", "€1,399.48", "kr 1,399.48", "45.6 øre/kWh", "4.3 c/kWh", "EUR/NOK 11.7512"]);
    for (const text of decimals()) expect(text).not.toMatch(/\d,\d{1,2}(?!\d)/); // no decimal comma
    expect(fmtInteger(12345)).toBe("12,345");
  });

  it("shows dates and times in English, 24-hour, in Europe/Oslo", () => {
    setLocale("en-GB", false);
    expect(fmtTime(T)).toBe("14:05");
    expect(fmtDate(T)).toBe("15 Jan 2026");
    expect(fmtDateTime(T)).toBe("15 Jan 2026, 14:05");
    expect(fmtWeekday(T)).toBe("Thu");
    expect(fmtMonth("2026-01")).toBe("January 2026");
    // A household's own zone, when a page has it, wins over the display zone.
    expect(fmtTime(T, "UTC")).toBe("13:05");
  });
});

describe("one locale: nb-NO", () => {
  it("uses a decimal comma and space grouping everywhere, never a decimal point", () => {
    setLocale("nb-NO", false);
    expect(decimals()).toEqual(["1 234,50", "2,5", "3,25 kW", "12,50 kWh", "763,2 kWh", "1 399,48 €", "1 399,48 kr", "45,6 øre/kWh", "4,3 c/kWh", "EUR/NOK 11,7512"]);
    for (const text of decimals()) expect(text).not.toMatch(/\d\.\d/);
    expect(nbsp(fmtInteger(12345))).toBe("12 345");
  });

  it("shows Norwegian dates, 24-hour, in Europe/Oslo", () => {
    setLocale("nb-NO", false);
    expect(fmtTime(T)).toBe("14:05");
    expect(fmtDate(T)).toBe("15. jan. 2026");
    expect(fmtMonth("2026-01")).toBe("januar 2026");
  });
});

describe("relative times, percentages and plurals follow the locale too", () => {
  const now = T.getTime();
  it("in en-GB", () => {
    expect(fmtRelative(new Date(now - 2_000), now)).toBe("now");
    expect(fmtRelative(new Date(now - 30_000), now)).toBe("30 sec ago");
    expect(fmtRelative(new Date(now - 180_000), now)).toBe("3 min ago");
    expect(fmtRelative(undefined, now)).toBe("–");
    expect(fmtPercent(0.125)).toBe("13%");
    expect([plural(1, "hour", "hours"), plural(2, "hour", "hours"), plural(0, "hour", "hours")]).toEqual(["hour", "hours", "hours"]);
  });
  it("in nb-NO", () => {
    setLocale("nb-NO", false);
    expect(fmtRelative(new Date(now - 2_000), now)).toBe("nå");
    expect(fmtRelative(new Date(now - 180_000), now)).toBe("for 3 min siden");
    expect(nbsp(fmtPercent(0.125))).toBe("13 %");
    expect([plural(1, "time", "timer"), plural(2, "time", "timer")]).toEqual(["time", "timer"]);
  });
});

describe("values that are not numbers", () => {
  it("show a dash, not NaN", () => {
    expect(fmtNumber(Number.NaN)).toBe("–");
    expect(fmtMinor(undefined, "NOK")).toBe("–");
    expect(fmtTime(undefined)).toBe("–");
  });
});

describe("spotMinorPerKwh", () => {
  it("takes the server's conversion in the bill's currency, else EUR/MWh as c/kWh", () => {
    expect(spotMinorPerKwh({ spotMicroPerKwh: 459_700n, priceEurMwh: 40 })).toBeCloseTo(45.97); // øre/kWh at 11.4925
    expect(spotMinorPerKwh({ spotMicroPerKwh: 0n, priceEurMwh: 40 })).toBe(4); // an EUR-only server: c/kWh
  });
});
