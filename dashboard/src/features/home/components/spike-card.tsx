import { useState } from "react";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { ExceedStatus } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { fmtEditable, fmtHour, perKwhUnit } from "@/lib/format";
import { useNow } from "@/lib/use-now";
import { useT } from "@/lib/i18n";

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
  const t = useT();
  const [draft, setDraft] = useState(fmtEditable(threshold));
  const now = useNow(60_000);
  const days = spikeByDay(periodsOf(forecast.data), now.getTime() / 1000);
  return (
    <Card aria-labelledby="spike-title">
      <CardHeader
        id="spike-title"
        title={t.home.spike.title}
        description={t.home.spike.description(perKwhUnit(currency))}
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
            {t.home.spike.threshold}
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
            {t.home.spike.unit(perKwhUnit(currency))}
          </span>
          <button type="submit" className="rounded bg-brand-700 px-2 py-1 text-xs font-medium text-white hover:bg-brand-800">
            {t.home.spike.set}
          </button>
        </form>
        {forecast.isPending ? (
          <LoadingState className="h-24" />
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} />
        ) : (
          <ul className="space-y-1 text-sm" data-testid="spike-days">
            {days.map((d) => (
              <li key={d.day} className="flex justify-between gap-2">
                <span className="text-slate-600">{d.dayOffset === 0 ? t.common.today : d.dayOffset === 1 ? t.common.tomorrow : d.day}</span>
                <span className="font-medium text-slate-800">
                  {spikeWords(d.exceed)}
                  {d.exceed.status === ExceedStatus.WITHIN_QUANTILES && <span className="ml-1 text-xs text-slate-500">{t.home.spike.at(fmtHour(new Date(d.at * 1000), timeZone))}</span>}
                </span>
              </li>
            ))}
          </ul>
        )}
        <p className="mt-2 text-xs text-slate-500">{t.home.spike.note}</p>
      </CardBody>
    </Card>
  );
}
