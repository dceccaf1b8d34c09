import { create, fromJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import {
  CheapestCertainty,
  CheapestPeriodSchema,
  DeliveryDayStatusSchema,
  ExceedStatus,
  ForecastInput,
  ForecastNoteCode,
  PriceKind,
  PricePeriodSchema,
  QuantileSchema,
} from "@/gen/energypulse/prediction/v1/forecast_pb";
import { GetPriceForecastResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";

import { fmtPerKwh } from "@/lib/format";
import { messages } from "@/lib/i18n";
import { setLocale } from "@/lib/i18n/locale";

import {
  barSeries,
  cheapestOf,
  cheapestWindows,
  forecastNoteLines,
  indistinguishable,
  likelyCheapestByDay,
  defaultSpikeThreshold,
  nearDays,
  parseDecimal,
  periodsOf,
  rateNote,
  spikeByDay,
  spikeWords,
  spotCurrency,
  spotUnitNote,
  thresholdMicro,
} from "./price-periods";

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

  it("shows a NOK server's spot prices in øre/kWh as it converted them, band and cheapest too", () => {
    // 80 EUR/MWh at 11.50 is 92 øre/kWh; the browser applies no rate, it reads spot_micro_per_kwh.
    const forecast = create(PricePeriodSchema, {
      ...period(96, false, 80, "2026-03-11", 1),
      spotMicroPerKwh: 920_000n,
      quantiles: (
        [
          [0.1, 60, 690_000n],
          [0.5, 80, 920_000n],
          [0.9, 100, 1_150_000n],
          [0.95, 130, 1_495_000n],
        ] as const
      ).map(([level, priceEurMwh, spotMicroPerKwh]) => create(QuantileSchema, { level, priceEurMwh, spotMicroPerKwh })),
    });
    const published = create(PricePeriodSchema, { ...period(0, true, 100, "2026-03-10", 0), spotMicroPerKwh: 1_150_000n });
    const nok = create(GetPriceForecastResponseSchema, {
      currency: "NOK",
      periods: [published, forecast],
      cheapestPeriods: [
        create(CheapestPeriodSchema, { startTime: timestampFromMs(T0 + 96 * 900_000), durationMinutes: 15, priceEurMwh: 80, spotMicroPerKwh: 920_000n, certainty: CheapestCertainty.LIKELY, deliveryDay: "2026-03-11" }),
      ],
      deliveryDays: [create(DeliveryDayStatusSchema, { deliveryDay: "2026-03-10", published: true, eurRate: "11.50" })],
    });
    expect(spotCurrency(nok)).toBe("NOK");
    expect(periodsOf(nok)).toMatchObject([
      { published: true, price: 115, p10: 115, p90: 115 },
      { published: false, price: 92, p10: 69, p90: 115 },
    ]);
    expect(cheapestOf(nok).map((c) => c.price)).toEqual([92]);
    expect(rateNote(nok, "2026-03-10")).toBe("EUR/NOK 11.50");
    expect(spotUnitNote("NOK", rateNote(nok))).toBe("spot price in øre/kWh, ex VAT and before markup (at EUR/NOK 11.50); your all-in price is under Next hour");
    expect(fmtPerKwh(periodsOf(nok)[1]?.price ?? NaN, "NOK")).toBe("92.0 øre/kWh");
  });

  it("keeps EUR for an EUR installation (or a server without the field): c/kWh, no rate note", () => {
    expect(spotCurrency(response)).toBe("EUR");
    expect(rateNote(response)).toBe("");
    const eur = create(GetPriceForecastResponseSchema, { currency: "EUR", periods: [create(PricePeriodSchema, { ...period(0, true, 100, "2026-03-10", 0), spotMicroPerKwh: 100_000n })] });
    expect(periodsOf(eur)[0]?.price).toBe(10);
    expect(fmtPerKwh(10, "EUR")).toMatch(/^10[.,]0 c\/kWh$/);
    expect(spotUnitNote("EUR", "")).toBe("spot price in c/kWh, ex VAT and before markup; your all-in price is under Next hour");
  });

  it("sends the household's threshold as µ per kWh of its currency, typed with a comma or a point", () => {
    expect(thresholdMicro(150)).toBe(1_500_000n);
    expect(thresholdMicro(parseDecimal("12,5"))).toBe(125_000n);
    expect(parseDecimal(" 12.5 ")).toBe(12.5);
    expect(parseDecimal("-3")).toBe(-3);
    expect(Number.isNaN(parseDecimal("12 c"))).toBe(true);
    expect(thresholdMicro(NaN)).toBeUndefined();
    expect([defaultSpikeThreshold("NOK"), defaultSpikeThreshold("EUR")]).toEqual([150, 15]);
  });
});


describe("likely cheapest per day", () => {
  const period = (t: number, price: number, p10: number, p90: number) => ({ t, end: t + 900, day: `2026-12-0${1 + Math.floor(t / 86_400)}`, dayOffset: 1, published: false, derived: false, price, p10, p90 });
  const pick = (t: number, price: number) => ({ t, end: t + 900, day: `2026-12-0${1 + Math.floor(t / 86_400)}`, price, certain: false });

  it("takes each day's first (cheapest) forecast period with its band, never a published one", () => {
    const periods = [period(0, 30, 20, 45), period(86_400, 31, 22, 44)];
    const picks = likelyCheapestByDay([{ ...pick(0, 10), certain: true }, pick(0, 30), pick(900, 32), pick(86_400, 31)], periods);
    expect(picks.map((p) => [p.pick.t, p.p10, p.p90])).toEqual([
      [0, 20, 45],
      [86_400, 22, 44],
    ]);
    expect(indistinguishable(picks)).toBe(true); // 30 (20-45) and 31 (22-44) overlap: either is as good
  });

  it("tells picks apart when a band lies wholly above the best one", () => {
    const periods = [period(0, 30, 25, 35), period(86_400, 60, 50, 70)];
    expect(indistinguishable(likelyCheapestByDay([pick(0, 30), pick(86_400, 60)], periods))).toBe(false);
    expect(indistinguishable(likelyCheapestByDay([pick(0, 30)], periods))).toBe(false); // one pick: nothing to compare
  });
});

describe("forecastNoteLines", () => {
  const notes = [
    { code: ForecastNoteCode.INPUT_SUBSTITUTED, input: ForecastInput.LOAD_FORECAST, missingDay: "2026-12-04", usedDay: "2026-12-03" },
    { code: ForecastNoteCode.INPUT_SUBSTITUTED, input: ForecastInput.WIND_SOLAR_FORECAST, missingDay: "2026-12-04", usedDay: "2026-12-03" },
  ];
  const prose = ["load_forecast of 2026-12-04 not yet published: …", "wind_solar_forecast of 2026-12-04 not yet published: …"];

  it("words the typed notes in the page's language, dates included", () => {
    const response = create(GetPriceForecastResponseSchema, { notes, forecastNotes: prose });
    setLocale("nb-NO", false);
    try {
      expect(forecastNoteLines(response, messages())).toEqual([
        "Forbruksprognosen for fredag 4. desember er ikke publisert ennå, så prisprognosen bruker den for torsdag 3. desember i stedet.",
        "Vind- og solkraftprognosen for fredag 4. desember er ikke publisert ennå, så prisprognosen bruker den for torsdag 3. desember i stedet.",
      ]);
    } finally {
      setLocale("en-GB", false);
    }
    expect(forecastNoteLines(response, messages())[1]).toBe("The wind and solar power forecast for Friday 4 December is not published yet, so the price forecast uses the one for Thursday 3 December instead.");
  });

  it("falls back to the server's line for a note it cannot word, and to the prose of an older server", () => {
    // A code this build does not know (a newer server's; proto3 enums are open), as it arrives.
    const newer = fromJson(GetPriceForecastResponseSchema, {
      notes: [{ code: "FORECAST_NOTE_CODE_INPUT_SUBSTITUTED", input: "FORECAST_INPUT_LOAD_FORECAST", missingDay: "2026-12-04", usedDay: "2026-12-03" }, { code: 99, missingDay: "2026-12-04" }],
      forecastNotes: prose,
    });
    expect(newer.notes[1]?.code).toBe(99);
    expect(forecastNoteLines(newer, messages())[1]).toBe(prose[1]);
    expect(forecastNoteLines(create(GetPriceForecastResponseSchema, { forecastNotes: prose }), messages())).toEqual(prose);
    expect(forecastNoteLines(create(GetPriceForecastResponseSchema, {}), messages())).toEqual([]);
  });
});
