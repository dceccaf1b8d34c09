import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { CheapestCertainty, CheapestWindowSchema } from "@/gen/energypulse/prediction/v1/forecast_pb";

import { choiceNote, durationLabel, windowView } from "./cheapest-windows";

const window = (startIso: string, hours: number, certain: boolean, distinguishable: boolean) =>
  create(CheapestWindowSchema, {
    startTime: timestampFromDate(new Date(startIso)),
    endTime: timestampFromDate(new Date(new Date(startIso).getTime() + hours * 3_600_000)),
    meanPriceEurMwh: 42.4,
    lowPriceEurMwh: certain ? 42.4 : 31,
    highPriceEurMwh: certain ? 42.4 : 79,
    certainty: certain ? CheapestCertainty.CERTAIN : CheapestCertainty.LIKELY,
    distinguishableFromBest: distinguishable,
  });

describe("cheapest windows in words", () => {
  it("says an EV's four hours in the household's local time, with the price and its basis", () => {
    // 01:00 UTC in December is 02:00 in Oslo.
    const v = windowView(window("2026-12-02T01:00:00Z", 4, true, true), "Europe/Oslo");
    expect(v.when).toBe("Wed 02:00–06:00");
    expect(v.price).toMatch(/^4[.,]2 c\/kWh spot on average$/);
    expect(v.basis).toBe("published prices");
  });

  it("gives a forecast window its likely range, and says when choices are not distinguishable", () => {
    const best = windowView(window("2026-12-03T01:00:00Z", 4, false, true), "Europe/Oslo");
    const next = windowView(window("2026-12-03T12:00:00Z", 4, false, false), "Europe/Oslo");
    expect(best.basis).toMatch(/^forecast, likely 3[.,]1–7[.,]9 c\/kWh$/);
    expect(choiceNote([best])).toBeUndefined();
    expect(choiceNote([best, next])).toBe("Thu 13:00–17:00 is not distinguishable from the best: its price band overlaps, so either is as good a choice.");
  });

  it("shows a NOK server's converted spot prices in øre/kWh, never converting here", () => {
    const w = create(CheapestWindowSchema, {
      ...window("2026-12-03T01:00:00Z", 4, false, true),
      meanSpotMicroPerKwh: 487_600n,
      lowSpotMicroPerKwh: 356_500n,
      highSpotMicroPerKwh: 908_500n,
    });
    const v = windowView(w, "Europe/Oslo", "NOK");
    // The app's one locale (en-GB by default) for øre too: a decimal point, as everywhere else.
    expect(v.price).toBe("48.8 øre/kWh spot on average");
    expect(v.basis).toBe("forecast, likely 35.7–90.9 øre/kWh");
    // an EUR installation: the same fields in µEUR/kWh, as c/kWh
    const eur = windowView(create(CheapestWindowSchema, { ...w, meanSpotMicroPerKwh: 42_400n }), "Europe/Oslo", "EUR");
    expect(eur.price).toMatch(/^4[.,]2 c\/kWh spot on average$/);
  });

  it("labels durations", () => {
    expect(durationLabel(240)).toBe("4 h");
    expect(durationLabel(45)).toBe("45 min");
  });
});
