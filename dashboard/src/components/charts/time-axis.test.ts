import { describe, expect, it } from "vitest";

import { validTimeZone } from "@/lib/time-zone";

import { TIME_INCRS, timeLabel, timeTickLabels, timeX } from "./time-axis";

const OSLO = "Europe/Oslo";
const LOCALE = "en-GB";
// 2025-03-03T13:05:12Z = 14:05:12 in Oslo (CET, UTC+1)
const T0 = Date.UTC(2025, 2, 3, 13, 5, 12) / 1000;

describe("time axis tick labels", () => {
  it("labels a span of seconds HH:MM:SS (never sub-second fractions)", () => {
    const labels = timeTickLabels([T0, T0 + 1, T0 + 2], 1, OSLO, LOCALE);
    expect(labels).toEqual(["14:05:12", "14:05:13", "14:05:14"]);
    expect(TIME_INCRS[0]).toBe(1);
    expect(TIME_INCRS.every((i) => Number.isInteger(i))).toBe(true);
  });

  it("labels minutes and hours HH:MM in the given zone", () => {
    expect(timeTickLabels([T0 - 12, T0 + 48], 60, OSLO, LOCALE)).toEqual(["14:05", "14:06"]);
    expect(timeTickLabels([T0 - 312, T0 + 3288], 3600, "UTC", LOCALE)).toEqual(["13:00", "14:00"]);
    expect(timeTickLabels([T0 - 312, T0 + 3288], 3600, "America/New_York", LOCALE)).toEqual(["08:00", "09:00"]);
  });

  it("labels days D MMM", () => {
    const midnight = Date.UTC(2025, 2, 2, 23, 0, 0) / 1000; // 3 Mar 00:00 in Oslo
    expect(timeTickLabels([midnight, midnight + 86400], 86400, OSLO, LOCALE)).toEqual(["3 Mar", "4 Mar"]);
  });

  it("adds the date where a sub-day axis crosses midnight", () => {
    const evening = Date.UTC(2025, 2, 3, 17, 0, 0) / 1000; // 18:00 Oslo
    const labels = timeTickLabels([evening, evening + 6 * 3600, evening + 12 * 3600], 6 * 3600, OSLO, LOCALE);
    expect(labels).toEqual(["18:00\n3 Mar", "00:00\n4 Mar", "06:00"]);
    // One day only: no date lines.
    expect(timeTickLabels([evening, evening + 3600], 3600, OSLO, LOCALE)).toEqual(["18:00", "19:00"]);
  });

  it("uses 24-hour clock at midnight (00, not 24)", () => {
    const midnight = Date.UTC(2025, 2, 2, 23, 0, 0) / 1000;
    expect(timeTickLabels([midnight], 3600, OSLO, LOCALE)).toEqual(["00:00"]);
  });

  it("formats the legend time with and without seconds", () => {
    expect(timeLabel(T0, OSLO, false, LOCALE)).toBe("3 Mar 14:05");
    expect(timeLabel(T0, OSLO, true, LOCALE)).toBe("3 Mar 14:05:12");
  });
});

describe("timeX", () => {
  it("ignores an unknown time zone instead of throwing", () => {
    expect(validTimeZone("Mars/Olympus")).toBeUndefined();
    expect(validTimeZone(OSLO)).toBe(OSLO);
    // Falls back to the display zone (Europe/Oslo) for ticks and labels alike.
    const d = timeX("Mars/Olympus").tzDate!(T0);
    expect([d.getHours(), d.getMinutes()]).toEqual([14, 5]);
  });

  it("places ticks by the zone's wall clock", () => {
    const { tzDate } = timeX(OSLO);
    const d = tzDate!(T0);
    expect([d.getHours(), d.getMinutes(), d.getSeconds()]).toEqual([14, 5, 12]);
  });
});
