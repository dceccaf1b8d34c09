import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { CheapestCertainty, CheapestPeriodSchema, ExceedStatus, PriceKind, PricePeriodSchema, QuantileSchema } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { GetPriceForecastResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";

import { barSeries, cheapestOf, cheapestWindows, nearDays, periodsOf, spikeByDay, spikeWords } from "./price-periods";

const T0 = Date.UTC(2026, 2, 10, 0, 0) - 3_600_000; // 00:00 Oslo (CET)

function period(i: number, published: boolean, price: number, day: string, dayOffset: number, exceed?: [number, ExceedStatus]) {
  return create(PricePeriodSchema, {
    startTime: timestampFromMs(T0 + i * 900_000),
    durationMinutes: 15,
    kind: published ? PriceKind.PUBLISHED : PriceKind.FORECAST,
    priceEurMwh: price,
    quantiles: published ? [] : [0.1, 0.5, 0.9].map((level, k) => create(QuantileSchema, { level, priceEurMwh: price + (k - 1) * 20 })),
    derived: !published,
    deliveryDay: day,
    dayOffset,
    exceedProbability: exceed?.[0] ?? 0,
    exceedStatus: exceed?.[1] ?? ExceedStatus.UNSPECIFIED,
  });
}

const response = create(GetPriceForecastResponseSchema, {
  periods: [
    period(0, true, 100, "2026-03-10", 0, [1, ExceedStatus.EXACT]),
    period(1, true, 50, "2026-03-10", 0, [0, ExceedStatus.EXACT]),
    period(96, false, 80, "2026-03-11", 1, [0.1, ExceedStatus.ABOVE_TOP_QUANTILE]),
    period(192, false, 60, "2026-03-12", 2, [0.35, ExceedStatus.WITHIN_QUANTILES]),
  ],
  cheapestPeriods: [
    create(CheapestPeriodSchema, { startTime: timestampFromMs(T0 + 900_000), durationMinutes: 15, priceEurMwh: 50, certainty: CheapestCertainty.CERTAIN, deliveryDay: "2026-03-10" }),
    create(CheapestPeriodSchema, { startTime: timestampFromMs(T0 + 96 * 900_000), durationMinutes: 15, priceEurMwh: 80, certainty: CheapestCertainty.LIKELY, deliveryDay: "2026-03-11" }),
  ],
});

describe("price periods", () => {
  it("takes the band from the P10 and P90 levels when the spike tail P95/P99 is served too", () => {
    const five = create(PricePeriodSchema, {
      ...period(96, false, 80, "2026-03-11", 1),
      quantiles: [
        [0.1, 60],
        [0.5, 80],
        [0.9, 100],
        [0.95, 130],
        [0.99, 200],
      ].map(([level, priceEurMwh]) => create(QuantileSchema, { level, priceEurMwh })),
    });
    const [p] = periodsOf(create(GetPriceForecastResponseSchema, { periods: [five] }));
    expect(p).toMatchObject({ price: 8, p10: 6, p90: 10 });
  });

  it("keeps published prices exact and forecast ones as bands, in c/kWh", () => {
    const periods = periodsOf(response);
    expect(periods.map((p) => p.published)).toEqual([true, true, false, false]);
    expect(periods[0]).toMatchObject({ price: 10, p10: 10, p90: 10, derived: false });
    expect(periods[2]).toMatchObject({ price: 8, p10: 6, p90: 10, derived: true });
    expect((periods.at(0)?.end ?? 0) - (periods.at(0)?.t ?? 0)).toBe(900);
  });

  it("draws bars for published periods only and the band for forecast ones only", () => {
    const [xs, bars, p10, median, p90] = barSeries(nearDays(periodsOf(response)));
    expect(xs).toHaveLength(3);
    expect(bars).toEqual([10, 5, null]);
    expect(median).toEqual([null, null, 8]);
    expect(p10).toEqual([null, null, 6]);
    expect(p90).toEqual([null, null, 10]);
  });

  it("marks cheapest periods certain when published and likely when forecast", () => {
    expect(cheapestOf(response).map((c) => c.certain)).toEqual([true, false]);
  });

  it("says a bound is a bound above the top quantile", () => {
    const days = spikeByDay(periodsOf(response), 0);
    expect(days.map((d) => spikeWords(d.exceed))).toEqual(["above (published)", "under 10%", "35%"]);
  });

  it("merges consecutive cheapest quarters into one window", () => {
    const q = (i: number, certain: boolean) => ({ t: i * 900, end: (i + 1) * 900, day: "d", price: i, certain });
    const windows = cheapestWindows([q(2, true), q(0, true), q(1, true), q(5, true), q(6, false)]);
    expect(windows.map((w) => [w.t / 900, w.end / 900, w.certain])).toEqual([
      [0, 3, true],
      [5, 6, true],
      [6, 7, false],
    ]);
    expect(windows[0]?.price).toBe(1);
  });
});
