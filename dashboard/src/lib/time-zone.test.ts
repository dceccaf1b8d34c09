import { describe, expect, it } from "vitest";

import { addDaysIn, dayKeyIn, startOfDayIn, validTimeZone } from "./time-zone";

describe("calendar days in a household's time zone", () => {
  it("finds midnight in the zone, not in the browser's zone", () => {
    // 2025-03-03 00:30 UTC is 01:30 in Oslo and 19:30 the day before in New York.
    const t = new Date(Date.UTC(2025, 2, 3, 0, 30));
    expect(startOfDayIn(t, "Europe/Oslo").toISOString()).toBe("2025-03-02T23:00:00.000Z");
    expect(startOfDayIn(t, "America/New_York").toISOString()).toBe("2025-03-02T05:00:00.000Z");
    expect(startOfDayIn(t, "UTC").toISOString()).toBe("2025-03-03T00:00:00.000Z");
  });

  it("makes DST days 23 and 25 hours long", () => {
    const spring = startOfDayIn(new Date(Date.UTC(2025, 2, 30, 12)), "Europe/Oslo"); // clocks go forward
    expect(addDaysIn(spring, 1, "Europe/Oslo").getTime() - spring.getTime()).toBe(23 * 3_600_000);
    const autumn = startOfDayIn(new Date(Date.UTC(2025, 9, 26, 12)), "Europe/Oslo"); // clocks go back
    expect(addDaysIn(autumn, 1, "Europe/Oslo").getTime() - autumn.getTime()).toBe(25 * 3_600_000);
  });

  it("keys days by the zone's calendar", () => {
    const t = new Date(Date.UTC(2025, 2, 3, 0, 30));
    expect(dayKeyIn(t, "Europe/Oslo")).toBe("2025-3-3");
    expect(dayKeyIn(t, "America/New_York")).toBe("2025-3-2");
  });

  it("falls back to the browser's zone for unknown names", () => {
    expect(validTimeZone("Nowhere/Land")).toBeUndefined();
    const t = new Date(2025, 2, 3, 15, 0);
    expect(startOfDayIn(t, "Nowhere/Land").getTime()).toBe(new Date(2025, 2, 3).getTime());
  });
});
