import { useMemo } from "react";
import uPlot from "uplot";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, bandsPlugin, legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { fmtHour, fmtNumber, fmtPerKwh, fmtTime, minorUnit, perKwhUnit } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { steppedPath } from "@/lib/series";
import { messages, useT } from "@/lib/i18n";

import type { usePriceForecast } from "../api/get-price-forecast";
import { barSeries, cheapestOf, cheapestWindows, nearDays, periodsOf, rateNote, spotCurrency, spotUnitNote } from "../lib/price-periods";

const barsPath = uPlot.paths.bars?.({ size: [0.92, 40], align: 1 });

/** Today's and tomorrow's prices as bars (published, exact) and, before tomorrow's auction
 *  result, its forecast band; the cheapest periods marked certain (published) or likely. */
export function PriceBarsCard({ forecast, timeZone }: { forecast: ReturnType<typeof usePriceForecast>; timeZone?: string }) {
  const periods = useMemo(() => nearDays(periodsOf(forecast.data)), [forecast.data]);
  const cheapest = useMemo(() => cheapestOf(forecast.data).filter((c) => periods.some((p) => p.day === c.day)), [forecast.data, periods]);
  const data = useMemo(() => barSeries(periods), [periods]);
  const tomorrow = forecast.data?.deliveryDays.find((d) => periods.some((p) => p.dayOffset === 1 && p.day === d.deliveryDay));
  const tomorrowPublished = tomorrow?.published ?? false;
  const publication = tsDate(tomorrow?.expectedPublicationTime);
  const currency = spotCurrency(forecast.data);
  const unit = perKwhUnit(currency);
  const today = periods.find((p) => p.dayOffset === 0)?.day;
  const unitNote = spotUnitNote(currency, rateNote(forecast.data, today));
  // Every text with a value in it, before the chart options are memoised on those values.
  const t = useT();
  const description = tomorrowPublished ? t.home.bars.published(unitNote) : t.home.bars.forecastUntil(publication ? fmtTime(publication, timeZone) : "", unitNote);
  const unitText = t.home.bars.unit(unit);
  const chartLabel = t.home.bars.chart(unit);

  const options = useMemo<ChartOptions>(() => {
    // The catalogue read here, not from the hook: a language switch remounts the page (app.tsx).
    const words = messages();
    const time = timeX(timeZone);
    const bands = cheapest.map((c) => ({ from: c.t, to: c.end }));
    return {
      tzDate: time.tzDate,
      plugins: [bandsPlugin(() => bands)],
      scales: { x: { time: true } },
      axes: [time.axis, { ...axisStyle, label: words.home.bars.axis(unit), labelSize: 18, size: 52 }],
      series: [
        time.series,
        { label: words.common.published, stroke: palette.price, fill: "rgba(217, 119, 6, 0.55)", width: 0, paths: barsPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
        { label: "P10", stroke: "rgba(99, 102, 241, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
        { label: words.common.forecast, stroke: palette.forecast, width: 2, dash: [6, 4], paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
        { label: "P90", stroke: "rgba(99, 102, 241, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
      ],
      bands: [{ series: [4, 2], fill: "rgba(99, 102, 241, 0.12)" }],
    };
  }, [cheapest, timeZone, currency, unit]);

  return (
    <Card aria-labelledby="price-bars-title">
      <CardHeader
        id="price-bars-title"
        title={t.home.bars.title}
        description={description}
        action={<Badge tone={tomorrowPublished ? "good" : "info"}>{tomorrowPublished ? t.home.bars.tomorrowPublished : t.home.bars.tomorrowForecast}</Badge>}
      />
      <CardBody>
        {forecast.isPending ? (
          <LoadingState label={t.home.bars.loading} className="h-64" />
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} className="h-64" />
        ) : periods.length === 0 ? (
          <EmptyState title={t.home.bars.none} description={t.home.bars.noneSub} className="h-64" />
        ) : (
          <>
            <p className="sr-only" data-testid="price-bars-unit">
              {unitText}
            </p>
            <UPlotChart options={options} data={data} height={240} ariaLabel={chartLabel} />
            <div className="mt-3 flex flex-wrap items-center gap-2 text-xs text-slate-600" data-testid="cheapest-hours">
              <span className="font-medium text-slate-700">{t.home.bars.cheapest}</span>
              {cheapestWindows(cheapest).map((c) => (
                <Badge key={c.t} tone={c.certain ? "good" : "info"} title={c.certain ? t.home.bars.certainTitle : t.home.bars.likelyTitle}>
                  {fmtHour(new Date(c.t * 1000), timeZone)}–{fmtHour(new Date(c.end * 1000), timeZone)}
                  <span>· {fmtNumber(c.price, 1)} {minorUnit(currency)}</span>
                  <span className="font-normal">{c.certain ? t.common.certain : t.common.likely}</span>
                </Badge>
              ))}
            </div>
          </>
        )}
      </CardBody>
    </Card>
  );
}
