import { useMemo, useState } from "react";
import { useParams } from "react-router";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, priceAxisIn, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CsvDownloadButton, type CsvFile } from "@/components/ui/csv-download";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { env } from "@/config/env";
import { Resolution } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { useHousehold } from "@/lib/api/get-household";
import { useMarketPrices } from "@/lib/api/get-market-prices";
import { resolutionFor, useReadings } from "@/lib/api/list-readings";
import { toCsv } from "@/lib/csv";
import { csvDecimal, fmtDate, fmtKwh, fmtMoney, fmtNumber, fmtPerKwh, perKwhUnit, spotMinorPerKwh } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { alignPowerAndPrice, isolatedPoints, stepValueAt, steppedPath } from "@/lib/series";
import { messages, useT } from "@/lib/i18n";

import { DateRangePicker, presetRange, type DateRange } from "./date-range-picker";

const RESOLUTION_KEY: Record<number, "raw" | "minute" | "quarter" | "hour"> = {
  [Resolution.RAW]: "raw",
  [Resolution.MINUTE]: "minute",
  [Resolution.QUARTER_HOUR]: "quarter",
  [Resolution.HOUR]: "hour",
};

const BUCKET_SECONDS: Record<number, number> = { [Resolution.MINUTE]: 60, [Resolution.QUARTER_HOUR]: 900, [Resolution.HOUR]: 3600 };

export function HistoryPage() {
  const { householdId = "" } = useParams();
  const t = useT();
  const [range, setRange] = useState<DateRange>(() => presetRange(7));
  const [preset, setPreset] = useState("7d");
  const resolution = resolutionFor(range.start, range.end);
  const household = useHousehold(householdId);
  const zone = household.data?.household?.zone || (household.isPending ? undefined : env().defaultZone);
  const readings = useReadings(householdId, range.start, range.end, resolution);
  const prices = useMarketPrices(zone, range.start, range.end);

  const series = useMemo(() => {
    const r = (readings.data?.readings ?? []).map((x) => ({ t: (tsDate(x.readTime)?.getTime() ?? 0) / 1000, v: x.powerKw }));
    const p = (prices.data?.prices ?? []).map((x) => ({ t: (tsDate(x.hourStart)?.getTime() ?? 0) / 1000, v: spotMinorPerKwh(x) }));
    return { r, p };
  }, [readings.data, prices.data]);

  const data = useMemo(() => alignPowerAndPrice(series.r, series.p, range.start.getTime() / 1000, range.end.getTime() / 1000), [series, range]);

  // Energy = mean power × bucket length; spot cost = energy × the hour's price.
  const totals = useMemo(() => {
    const used = readings.data?.resolution ?? resolution;
    const bucket = BUCKET_SECONDS[used];
    const prices = new Map(series.p.map((p) => [p.t, p.v]));
    let kwh = 0;
    let minor = 0;
    series.r.forEach((x, i) => {
      const seconds = bucket ?? Math.min(60, (series.r[i + 1]?.t ?? x.t + 10) - x.t);
      const e = (x.v * seconds) / 3600;
      kwh += e;
      const price = stepValueAt(prices, x.t);
      if (price !== null) minor += e * price;
    });
    const avgPrice = series.p.length ? series.p.reduce((a, b) => a + b.v, 0) / series.p.length : NaN;
    return { kwh, money: minor / 100, avgPrice, peak: series.r.reduce((m, x) => Math.max(m, x.v), 0) };
  }, [series, readings.data, resolution]);

  const timeZone = household.data?.household?.timeZone;
  // The bill's currency (the server converts each day's spot at that day's EUR rate).
  const currency = prices.data?.currency || "EUR";
  const options = useMemo<ChartOptions>(() => {
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      scales: { x: { time: true }, kw: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 1)] } },
      cursor: { drag: { x: true, y: false } },
      axes: [
        time.axis,
        { ...axisStyle, scale: "kw", label: "kW", labelSize: 18, size: 44 },
        priceAxisIn(currency),
      ],
      series: [
        time.series,
        { label: messages().common.powerKw, scale: "kw", stroke: palette.power, fill: palette.powerFill, width: 1.5, points: isolatedPoints, value: legendValue((v) => `${fmtNumber(v, 2)} kW`) },
        { label: messages().home.chart.spotSeries(perKwhUnit(currency)), scale: "price", stroke: palette.price, width: 1.5, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
      ],
    };
  }, [timeZone, currency]);

  const csvFile = (): CsvFile => {
    const prices = new Map(series.p.map((p) => [p.t, p.v]));
    const rows = (readings.data?.readings ?? []).map((x) => {
      const at = tsDate(x.readTime);
      const price = at ? stepValueAt(prices, at.getTime() / 1000) : null;
      return [at?.toISOString(), x.meterId, x.powerKw, x.importKwh, x.exportKwh, x.voltageV, x.currentA, x.sampleCount, price === null ? "" : csvDecimal(price, 2)];
    });
    const priceColumn = currency === "NOK" ? "spot_price_ore_per_kwh" : "spot_price_cent_per_kwh";
    const csv = toCsv(["time_utc", "meter_id", "power_kw", "import_kwh", "export_kwh", "voltage_v", "current_a", "sample_count", priceColumn], rows);
    return {
      filename: `energypulse-${householdId}-${range.start.toISOString().slice(0, 10)}-${range.end.toISOString().slice(0, 10)}.csv`,
      text: csv,
      rows: rows.length,
      empty: t.common.csvEmpty.readings(fmtDate(range.start), fmtDate(new Date(range.end.getTime() - 1))),
    };
  };

  const used = readings.data?.resolution ?? resolution;
  return (
    <>
      <PageHeader
        title={t.history.title}
        description={t.history.description(fmtDate(range.start), fmtDate(new Date(range.end.getTime() - 1)))}
        actions={
          <CsvDownloadButton build={csvFile} disabled={!readings.data} testId="history-csv">
            {t.history.download}
          </CsvDownloadButton>
        }
      />
      <div className="mb-4">
        <DateRangePicker
          value={range}
          preset={preset}
          onChange={(next, key) => {
            setRange(next);
            setPreset(key);
          }}
        />
      </div>
      <Card aria-labelledby="history-chart-title">
        <CardHeader
          id="history-chart-title"
          title={t.history.chartTitle}
          description={t.history.chartHint}
          action={
            <>
              {readings.isFetching && !readings.isPending && <Badge tone="info">{t.history.updating}</Badge>}
              <Badge>{t.history.resolution[RESOLUTION_KEY[used] ?? "auto"]}</Badge>
            </>
          }
        />
        <CardBody>
          {readings.isPending ? (
            <LoadingState label={t.history.loading} className="h-80" />
          ) : readings.error ? (
            <ErrorState error={readings.error} onRetry={() => void readings.refetch()} className="h-80" />
          ) : series.r.length === 0 ? (
            <EmptyState title={t.history.none} description={t.history.noneSub} className="h-80" />
          ) : (
            <>
              <dl className="mb-5 grid grid-cols-2 gap-4 sm:grid-cols-4">
                <Stat label={t.history.netEnergy} value={fmtKwh(totals.kwh)} testId="history-kwh" />
                <Stat label={t.history.atSpot} value={fmtMoney(totals.money, currency)} sub={t.history.atSpotSub} testId="history-spot-value" />
                <Stat label={t.history.avgSpot} value={Number.isFinite(totals.avgPrice) ? fmtPerKwh(totals.avgPrice, currency) : "–"} sub={t.common.exVat} />
                <Stat label={t.history.peak} value={`${fmtNumber(totals.peak, 2)} kW`} />
              </dl>
              <UPlotChart options={options} data={data} height={320} ariaLabel={t.history.chart} />
              {prices.error && <p className="mt-2 text-xs text-amber-700">{t.history.pricesUnavailable}</p>}
            </>
          )}
        </CardBody>
      </Card>
    </>
  );
}
