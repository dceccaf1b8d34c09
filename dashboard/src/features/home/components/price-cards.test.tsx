/** The zone price cards speak the bill's currency: øre/kWh spot on a NOK installation (the
 *  server's converted spot_micro_per_kwh), c/kWh on an EUR one, and say the figure is spot. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
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

import { priceForecastQueryOptions, usePriceForecast } from "../api/get-price-forecast";
import { PriceBarsCard } from "./price-bars-card";
import { SpikeCard } from "./spike-card";
import { WeekAheadCard } from "./week-ahead-card";

const NOW = Date.now();
const T0 = NOW - (NOW % 900_000);

function response(currency: string) {
  const micro = (eurMwh: number) => BigInt(Math.round(eurMwh * (currency === "NOK" ? 11.5 : 1) * 1000));
  return create(GetPriceForecastResponseSchema, {
    currency,
    periods: [
      create(PricePeriodSchema, { startTime: timestampFromMs(T0), durationMinutes: 15, kind: PriceKind.PUBLISHED, priceEurMwh: 40, spotMicroPerKwh: micro(40), deliveryDay: "2026-12-02", dayOffset: 0, exceedStatus: ExceedStatus.EXACT }),
      create(PricePeriodSchema, {
        startTime: timestampFromMs(T0 + 86_400_000),
        durationMinutes: 15,
        kind: PriceKind.FORECAST,
        priceEurMwh: 60,
        spotMicroPerKwh: micro(60),
        quantiles: [0.1, 0.5, 0.9].map((level, k) => create(QuantileSchema, { level, priceEurMwh: 40 + 20 * k, spotMicroPerKwh: micro(40 + 20 * k) })),
        deliveryDay: "2026-12-03",
        dayOffset: 1,
        exceedProbability: 0.35,
        exceedStatus: ExceedStatus.WITHIN_QUANTILES,
      }),
    ],
    cheapestPeriods: [
      create(CheapestPeriodSchema, { startTime: timestampFromMs(T0), durationMinutes: 15, priceEurMwh: 40, spotMicroPerKwh: micro(40), certainty: CheapestCertainty.CERTAIN, deliveryDay: "2026-12-02" }),
      create(CheapestPeriodSchema, { startTime: timestampFromMs(T0 + 86_400_000), durationMinutes: 15, priceEurMwh: 60, spotMicroPerKwh: micro(60), certainty: CheapestCertainty.LIKELY, deliveryDay: "2026-12-03" }),
    ],
    deliveryDays: [create(DeliveryDayStatusSchema, { deliveryDay: "2026-12-02", published: true, eurRate: currency === "NOK" ? "11.50" : "1" })],
    forecastNotes: ["load_forecast of 2026-12-04 not yet published: the latest known day-ahead forecast, one day older (2026-12-03), used"],
    notes: [{ code: ForecastNoteCode.INPUT_SUBSTITUTED, input: ForecastInput.LOAD_FORECAST, missingDay: "2026-12-04", usedDay: "2026-12-03" }],
  });
}

function Cards({ currency, threshold }: { currency: string; threshold: number }) {
  const forecast = usePriceForecast("NO1", 1_500_000n);
  return (
    <>
      <PriceBarsCard forecast={forecast} timeZone="Europe/Oslo" />
      <WeekAheadCard forecast={forecast} zone="NO1" timeZone="Europe/Oslo" />
      <SpikeCard forecast={forecast} currency={currency} threshold={threshold} onThreshold={() => undefined} timeZone="Europe/Oslo" />
    </>
  );
}

function render(currency: string, threshold: number) {
  const queries = new QueryClient();
  queries.setQueryData(priceForecastQueryOptions("NO1", 1_500_000n).queryKey, response(currency));
  return renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <Cards currency={currency} threshold={threshold} />
    </QueryClientProvider>,
  ).replace(/\u00a0/g, " ");
}

describe("home price cards, one unit", () => {
  it("show NOK spot in øre/kWh with the day's EUR/NOK, never c/kWh", () => {
    const html = render("NOK", 12.5);
    expect(html).toContain("spot price in øre/kWh, ex VAT and before markup (at EUR/NOK 11.50)");
    expect(html).toContain("your all-in price is under Next hour");
    expect(html).toContain("P10–P90");
    // the cheapest periods: 40 EUR/MWh at 11.50 is 46.0 øre (published: certain), 69.0 øre likely
    expect(html).toMatch(/· 46.0 øre<\/span><span[^>]*>certain/);
    expect(html).toContain("69.0 øre (46.0–92.0)"); // the likely pick with its 80% range
    // What the forecast stood on when an input was not yet published: the API's typed notes,
    // worded by the catalogue (not the deprecated English forecast_notes).
    expect(html).toMatch(/data-testid="forecast-notes"[^>]*><li>The power consumption forecast for Friday 4 December is not published yet, so the price forecast uses the one for Thursday 3 December instead.<\/li>/);
    expect(html).not.toContain("load_forecast");
    expect(html).toMatch(/data-testid="spike-unit"[^>]*>øre\/kWh spot</);
    expect(html).toContain('value="12.5"');
    expect(html).not.toContain("c/kWh");
  });

  it("keep c/kWh on an EUR installation", () => {
    const html = render("EUR", 15);
    expect(html).toMatch(/spot price in c\/kWh, ex VAT and before markup;/);
    expect(html).toMatch(/· 4[.,]0 c<\/span>/);
    expect(html).toMatch(/data-testid="spike-unit"[^>]*>c\/kWh spot</);
    expect(html).not.toContain("øre");
  });
});
