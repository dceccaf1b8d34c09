import { describe, expect, it } from "vitest";

import { alignPowerAndPrice, isolatedIndices, stepValueAt } from "./series";

describe("alignPowerAndPrice", () => {
  it("puts readings and hour boundaries on one axis, price as the hour's step", () => {
    const [x, power, price] = alignPowerAndPrice(
      [
        { t: 3600 + 900, v: 1 },
        { t: 7200 + 60, v: 2 },
      ],
      [
        { t: 3600, v: 10 },
        { t: 7200, v: 20 },
      ],
      3600,
      7200 + 3600,
    );
    expect(x).toEqual([3600, 4500, 7200, 7260, 10800]);
    expect(power).toEqual([null, 1, null, 2, null]);
    expect(price).toEqual([10, 10, 20, 20, null]);
  });

  it("stepValueAt finds the containing hour", () => {
    const hours = new Map([[3600, 5]]);
    expect(stepValueAt(hours, 3600)).toBe(5);
    expect(stepValueAt(hours, 7199)).toBe(5);
    expect(stepValueAt(hours, 7200)).toBeNull();
  });
});

describe("isolatedIndices", () => {
  it("finds values that have no neighbour to draw a line to", () => {
    expect(isolatedIndices([1, null, 2, 3, null, 4])).toEqual([0, 5]);
    expect(isolatedIndices([null, 5, null])).toEqual([1]);
    expect(isolatedIndices([7])).toEqual([0]);
    expect(isolatedIndices([1, 2, null, null])).toEqual([]);
    expect(isolatedIndices([])).toEqual([]);
  });
});
