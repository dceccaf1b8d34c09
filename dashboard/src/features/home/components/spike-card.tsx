import { useState } from "react";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { ExceedStatus } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { fmtEditable, fmtHour, perKwhUnit } from "@/lib/format";
import { useNow } from "@/lib/use-now";

import type { usePriceForecast } from "../api/get-price-forecast";
import { parseDecimal, periodsOf, spikeByDay, spikeWords } from "../lib/price-periods";

/** The household's spot price threshold, in the bill's currency (øre/kWh for NOK, c/kWh for
 *  EUR): the spike probability is asked for it (the server compares at each day's EUR rate). */
export function SpikeCard({
  forecast,
  currency,
  threshold,
  onThreshold,
  timeZone,
}: {
  forecast: ReturnType<typeof usePriceForecast>;
  currency: string;
  threshold: number;
  onThreshold: (value: number) => void;
  timeZone?: string;
}) {
  const [draft, setDraft] = useState(fmtEditable(threshold));
  const now = useNow(60_000);
  const days = spikeByDay(periodsOf(forecast.data), now.getTime() / 1000);
  return (
    <Card aria-labelledby="spike-title">
      <CardHeader
        id="spike-title"
        title="Price spike chance"
        description={`Highest chance per day that a 15-minute spot price (ex VAT, before markup, ${perKwhUnit(currency)}) exceeds your threshold`}
      />
      <CardBody>
        <form
          className="mb-3 flex items-center gap-2 text-sm"
          onSubmit={(e) => {
            e.preventDefault();
            const value = parseDecimal(draft);
            if (Number.isFinite(value)) onThreshold(value);
          }}
        >
          <label htmlFor="spike-threshold" className="text-slate-600">
            Threshold
          </label>
          <input
            id="spike-threshold"
            data-testid="spike-threshold"
            className="w-20 rounded border border-slate-300 px-2 py-1"
            inputMode="decimal"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <span className="text-slate-500" data-testid="spike-unit">
            {perKwhUnit(currency)} spot
          </span>
          <button type="submit" className="rounded bg-brand-700 px-2 py-1 text-xs font-medium text-white hover:bg-brand-800">
            Set
          </button>
        </form>
        {forecast.isPending ? (
          <LoadingState label="Loading…" className="h-24" />
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} />
        ) : (
          <ul className="space-y-1 text-sm" data-testid="spike-days">
            {days.map((d) => (
              <li key={d.day} className="flex justify-between gap-2">
                <span className="text-slate-600">{d.dayOffset === 0 ? "Today" : d.dayOffset === 1 ? "Tomorrow" : d.day}</span>
                <span className="font-medium text-slate-800">
                  {spikeWords(d.exceed)}
                  {d.exceed.status === ExceedStatus.WITHIN_QUANTILES && <span className="ml-1 text-xs text-slate-500">at {fmtHour(new Date(d.at * 1000), timeZone)}</span>}
                </span>
              </li>
            ))}
          </ul>
        )}
        <p className="mt-2 text-xs text-slate-500">Above the forecast's P90 the chance is shown as a bound (“under 10%”), never extrapolated.</p>
      </CardBody>
    </Card>
  );
}
