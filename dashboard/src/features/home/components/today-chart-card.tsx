import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, priceAxisLabelled, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Resolution } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { useMarketPrices } from "@/lib/api/get-market-prices";
import { useReadings } from "@/lib/api/list-readings";
import { fmtNumber, fmtPerKwh, perKwhUnit } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { alignPowerAndPrice, isolatedPoints, steppedPath } from "@/lib/series";
import { addDaysIn, startOfDayIn } from "@/lib/time-zone";
import { useNow } from "@/lib/use-now";
import { errorMessage } from "@/lib/api-client";
import { useT } from "@/lib/i18n";

import { spotCurrency, spotMinor } from "../lib/price-periods";

export function TodayChartCard({ householdId, zone, timeZone }: { householdId: string; zone: string | undefined; timeZone?: string }) {
  const t = useT();
  const now = useNow(60_000);
  // "Today" is the household's calendar day: its start changes at that midnight only, so the
  // Dates (and the query keys and chart options built from them) stay the same all day.
  const dayStartMs = startOfDayIn(now, timeZone).getTime();
  const dayStart = useMemo(() => new Date(dayStartMs), [dayStartMs]);
  const dayEnd = useMemo(() => addDaysIn(dayStart, 1, timeZone), [dayStart, timeZone]);
  const readings = useReadings(householdId, dayStart, dayEnd, Resolution.QUARTER_HOUR, 60_000);
  const prices = useMarketPrices(zone, dayStart, dayEnd);
  // The spot price in the bill's currency as the server converted it (øre/kWh for NOK).
  const currency = spotCurrency(prices.data);
  const unit = perKwhUnit(currency);

  const data = useMemo(() => {
    const r = (readings.data?.readings ?? []).map((x) => ({ t: (tsDate(x.readTime)?.getTime() ?? 0) / 1000, v: x.powerKw }));
    const p = (prices.data?.prices ?? []).map((x) => ({ t: (tsDate(x.hourStart)?.getTime() ?? 0) / 1000, v: spotMinor(x, prices.data) }));
    return alignPowerAndPrice(r, p, dayStart.getTime() / 1000, dayEnd.getTime() / 1000);
  }, [readings.data, prices.data, dayStart, dayEnd]);

  const options = useMemo<ChartOptions>(() => {
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      scales: { x: { time: true, range: [dayStart.getTime() / 1000, dayEnd.getTime() / 1000] }, kw: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 1)] } },
      axes: [
        time.axis,
        { ...axisStyle, scale: "kw", label: "kW", labelSize: 18, size: 44 },
        priceAxisLabelled(t.home.bars.axis(unit)),
      ],
      series: [
        time.series,
        { label: t.common.powerKw, scale: "kw", stroke: palette.power, fill: palette.powerFill, width: 2, spanGaps: false, points: isolatedPoints, value: legendValue((v) => `${fmtNumber(v, 2)} kW`) },
        { label: t.home.chart.spotSeries(unit), scale: "price", stroke: palette.price, width: 2, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
      ],
    };
  }, [dayStart, dayEnd, timeZone, currency, unit, t]);

  const noReadings = (readings.data?.readings.length ?? 0) === 0;
  return (
    <Card aria-labelledby="today-chart-title">
      <CardHeader id="today-chart-title" title={t.home.chart.title} description={<span data-testid="today-chart-unit">{t.home.chart.description(unit)}</span>} />
      <CardBody>
        {readings.isPending ? (
          <LoadingState label={t.home.chart.loading} className="h-64" />
        ) : readings.error ? (
          <ErrorState error={readings.error} onRetry={() => void readings.refetch()} className="h-64" />
        ) : noReadings && (prices.data?.prices.length ?? 0) === 0 ? (
          <EmptyState title={t.home.chart.none} description={t.home.chart.noneSub} className="h-64" />
        ) : (
          <>
            <UPlotChart options={options} data={data} height={260} ariaLabel={t.home.chart.aria(unit)} />
            {prices.error && <p className="mt-2 text-xs text-amber-700">{t.home.chart.pricesUnavailable(errorMessage(prices.error, t))}</p>}
          </>
        )}
      </CardBody>
    </Card>
  );
}
