import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { fmtHour, fmtNumber, fmtPerKwh, fmtWeekday, minorUnit, perKwhUnit } from "@/lib/format";
import { steppedPath } from "@/lib/series";
import { useT } from "@/lib/i18n";

import type { usePriceForecast } from "../api/get-price-forecast";
import { cheapestOf, forecastNoteLines, indistinguishable, likelyCheapestByDay, periodsOf, rateNote, spotCurrency, spotUnitNote } from "../lib/price-periods";

/** The week ahead: published prices, then the forecast median with its P10-P90 band. */
export function WeekAheadCard({ forecast, zone, timeZone }: { forecast: ReturnType<typeof usePriceForecast>; zone: string | undefined; timeZone?: string }) {
  const t = useT();
  const periods = useMemo(() => periodsOf(forecast.data), [forecast.data]);
  const currency = spotCurrency(forecast.data);
  const unit = perKwhUnit(currency);
  const rate = rateNote(forecast.data, periods.find((p) => p.dayOffset === 0)?.day);
  const picks = useMemo(() => likelyCheapestByDay(cheapestOf(forecast.data), periods), [forecast.data, periods]);
  const notes = forecast.data ? forecastNoteLines(forecast.data, t) : [];
  const data = useMemo(() => {
    const xs = periods.map((p) => p.t);
    return [
      xs,
      periods.map((p) => (p.published ? p.price : null)),
      periods.map((p) => (p.published ? null : p.p10)),
      periods.map((p) => (p.published ? null : p.price)),
      periods.map((p) => (p.published ? null : p.p90)),
    ] as [number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]];
  }, [periods]);
  const options = useMemo<ChartOptions>(() => {
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      scales: { x: { time: true } },
      axes: [time.axis, { ...axisStyle, label: t.home.bars.axis(unit), labelSize: 18, size: 52 }],
      series: [
        time.series,
        { label: t.common.published, stroke: palette.price, width: 2, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
        { label: "P10", stroke: "rgba(99, 102, 241, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
        { label: t.home.week.median, stroke: palette.forecast, width: 2, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
        { label: "P90", stroke: "rgba(99, 102, 241, 0.35)", width: 1, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
      ],
      bands: [{ series: [4, 2], fill: "rgba(99, 102, 241, 0.12)" }],
    };
  }, [timeZone, currency, unit, t]);
  const days = new Set(periods.filter((p) => !p.published).map((p) => p.day)).size;

  return (
    <Card aria-labelledby="price-forecast-title">
      <CardHeader
        id="price-forecast-title"
        title={t.home.week.title}
        description={`${t.home.week.description(spotUnitNote(currency, rate ? t.home.week.rateNote(rate) : ""))}${zone ? ` · ${zone}` : ""}${forecast.data?.modelVersion ? ` · ${t.home.week.model(forecast.data.modelVersion)}` : ""}`}
        action={<Badge tone="info">{t.home.week.days(days)}</Badge>}
      />
      <CardBody>
        {forecast.isPending ? (
          <LoadingState label={t.home.week.loading} className="h-64" />
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} className="h-64" />
        ) : periods.length === 0 ? (
          <EmptyState title={t.home.week.none} description={t.home.week.noneSub} className="h-64" />
        ) : (
          <>
            <p className="sr-only" data-testid="week-ahead-unit">
              {t.home.bars.unit(unit)}
            </p>
            <UPlotChart options={options} data={data} height={240} ariaLabel={t.home.week.chart(unit)} />
            <div className="mt-3 flex flex-wrap items-center gap-2 text-xs text-slate-600" data-testid="likely-cheapest">
              <span className="font-medium text-slate-700">{t.home.week.likely}</span>
              {picks.map(({ pick, p10, p90 }) => (
                <Badge key={pick.t} tone="info">
                  {fmtWeekday(new Date(pick.t * 1000), timeZone)} {fmtHour(new Date(pick.t * 1000), timeZone)} · {fmtNumber(pick.price, 1)} {minorUnit(currency)} ({fmtNumber(p10, 1)}–{fmtNumber(p90, 1)})
                </Badge>
              ))}
            </div>
            {notes.length > 0 && (
              <ul className="mt-2 list-disc pl-5 text-xs text-slate-600" data-testid="forecast-notes" aria-label={t.home.week.notes}>
                {notes.map((note) => (
                  <li key={note}>{note}</li>
                ))}
              </ul>
            )}
            {indistinguishable(picks) && (
              <p className="mt-1 text-xs text-slate-600" data-testid="likely-indistinguishable">
                {t.home.week.overlap}
              </p>
            )}
          </>
        )}
      </CardBody>
    </Card>
  );
}
