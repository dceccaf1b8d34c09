import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, bandsPlugin, legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { lastItem } from "@/lib/arrays";
import { fmtHour, fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { steppedPath } from "@/lib/series";

import { usePriceForecast } from "../api/get-price-forecast";
import { useHouseholdForecast } from "../api/predict-household";

const CHEAPEST_COUNT = 4;

export function PriceForecastCard({ householdId, zone, timeZone }: { householdId: string; zone: string | undefined; timeZone?: string }) {
  const forecast = usePriceForecast(zone);
  const household = useHouseholdForecast(householdId);

  const points = useMemo(
    () =>
      (forecast.data?.points ?? []).map((p) => ({
        t: (tsDate(p.hourStart)?.getTime() ?? 0) / 1000,
        p10: p.p10EurMwh / 10,
        p50: p.p50EurMwh / 10,
        p90: p.p90EurMwh / 10,
      })),
    [forecast.data],
  );

  // The household forecast names the cheapest hours; without it, take the lowest medians.
  const cheapest = useMemo(() => {
    const fromHousehold = (household.data?.forecast?.cheapestHours ?? []).map((ts) => (tsDate(ts)?.getTime() ?? 0) / 1000);
    if (fromHousehold.length) return fromHousehold;
    return [...points].sort((a, b) => a.p50 - b.p50).slice(0, CHEAPEST_COUNT).map((p) => p.t);
  }, [household.data, points]);

  const data = useMemo(() => {
    if (!points.length) return [[], [], [], []] as [number[], number[], number[], number[]];
    const last = lastItem(points);
    const all = [...points, { ...last, t: last.t + 3600 }]; // close the last step
    return [all.map((p) => p.t), all.map((p) => p.p10), all.map((p) => p.p50), all.map((p) => p.p90)] as [number[], number[], number[], number[]];
  }, [points]);

  const options = useMemo<ChartOptions>(() => {
    const bands = cheapest.map((t) => ({ from: t, to: t + 3600 }));
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      plugins: [bandsPlugin(() => bands)],
      scales: { x: { time: true } },
      axes: [time.axis, { ...axisStyle, label: "c/kWh", labelSize: 18, size: 48 }],
      series: [
        time.series,
        { label: "P10", stroke: "rgba(217, 119, 6, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
        { label: "Median", stroke: palette.price, width: 2.5, paths: steppedPath, points: { show: false }, value: legendValue((v) => `${v.toFixed(1)} c/kWh`) },
        { label: "P90", stroke: "rgba(217, 119, 6, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
      ],
      bands: [{ series: [3, 1], fill: palette.priceFill }],
    };
  }, [cheapest, timeZone]);

  const cheapestSorted = [...cheapest].sort((a, b) => a - b);
  const priceAt = new Map(points.map((p) => [p.t, p.p50]));

  return (
    <Card aria-labelledby="price-forecast-title">
      <CardHeader
        id="price-forecast-title"
        title="Next 24 hours: spot price forecast"
        description={`Median with 80% interval${zone ? ` · ${zone}` : ""}${forecast.data?.modelVersion ? ` · model ${forecast.data.modelVersion}` : ""}`}
        action={<Badge tone="good">Cheapest hours shaded</Badge>}
      />
      <CardBody>
        {forecast.isPending ? (
          <LoadingState label="Loading the forecast…" className="h-64" />
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} className="h-64" />
        ) : points.length === 0 ? (
          <EmptyState title="No forecast yet" description="The price model has not produced a forecast for this zone." className="h-64" />
        ) : (
          <>
            <UPlotChart options={options} data={data} height={240} ariaLabel="Spot price forecast for the next 24 hours with the cheapest hours highlighted" />
            <div className="mt-3 flex flex-wrap items-center gap-2 text-xs text-slate-600" data-testid="cheapest-hours">
              <span className="font-medium text-slate-700">Cheapest hours to shift flexible use:</span>
              {cheapestSorted.map((t) => {
                const price = priceAt.get(t);
                return (
                  <Badge key={t} tone="good">
                    {fmtHour(new Date(t * 1000), timeZone)}
                    {price !== undefined && <span className="text-emerald-600/80">· {fmtNumber(price, 1)} c</span>}
                  </Badge>
                );
              })}
            </div>
          </>
        )}
      </CardBody>
    </Card>
  );
}
