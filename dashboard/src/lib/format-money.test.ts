import { describe, expect, it } from "vitest";

import { fmtKwhIn, fmtMinor, fmtMonthIn } from "./format";

describe("NOK bill formatting (nb-NO)", () => {
  it("formats ore as kroner with a decimal comma and a space before kr", () => {
    expect(fmtMinor(139_948n, "NOK").replace(/\s/g, " ")).toBe("1 399,48 kr");
    expect(fmtMinor(-50_220n, "NOK").replace(/\s/g, " ")).toMatch(/^[−-]502,20 kr$/);
    expect(fmtMinor(undefined, "NOK")).toBe("–");
  });

  it("names months and kWh the Norwegian way in NOK mode", () => {
    expect(fmtMonthIn("2026-01", "NOK")).toBe("januar 2026");
    expect(fmtKwhIn(763.2, "NOK").replace(/\s/g, " ")).toBe("763,2 kWh");
  });
});
